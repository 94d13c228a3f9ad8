#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for rootc's test suite and runs it (what CI runs).
#
#   bash scripts/test.sh                     # everything
#   bash scripts/test.sh test/infra          # one folder or file (arguments go to vitest run)
#
# scripts/setup.sh installs the Debian packages, builds actool and runs npm ci when needed; the
# test run itself starts dockerd and a registry on 127.0.0.1 when a test first needs them and
# stops them at the end (test/support/services.ts). The exit code is vitest's.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# dockerd, setcap and friends live in sbin; actool in the tools dir setup.sh built it in.
tools_dir=${ROOTC_TOOLS_DIR:-$([[ $(id -u) == 0 ]] && echo /var/cache/rootc-test || echo "${XDG_CACHE_HOME:-$HOME/.cache}/rootc-test")}
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:$tools_dir/bin"

echo "[test] npm test (build, then vitest run)"
start=$SECONDS
status=0
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
ROOTC_TEST_SUMMARY=$summary npm test -- --reporter=default --reporter=./test/support/summary-reporter.ts "$@" ||
  status=$?
echo "[test] finished in $((SECONDS - start)) s with exit code $status"
# The plain closing line (N passed, N failed, N skipped) last, after the services' teardown.
cat "$summary"
exit "$status"
