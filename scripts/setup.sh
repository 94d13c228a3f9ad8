#!/usr/bin/env bash
# Sets up a Debian 12 machine for rootc: Debian packages, actool, the test user, npm dependencies.
#
#   bash scripts/setup.sh            # everything the test suite needs (what scripts/test.sh calls)
#   bash scripts/setup.sh --main     # only what `rootc build` itself needs (what scripts/main.sh calls)
#
# Idempotent and quick on a machine that already has everything: one `dpkg-query` decides whether
# apt runs at all (`apt-get update` once, then `apt-get install`), actool is rebuilt only when
# missing or when the Debian source package changed, `npm ci` runs only when package-lock.json
# changed since the last install. Must run as root to install packages (CI does); as another user it
# only reports what is missing.
#
# Environment:
#   ROOTC_TOOLS_DIR   where built tools go (default /var/cache/rootc-test as root, else
#                     ~/.cache/rootc-test); actool ends up in $ROOTC_TOOLS_DIR/bin/actool.
#   ROOTC_SKIP_APT=1  do not touch Debian packages (report what is missing only).
#
# Tested from nothing with scripts/ci-fresh.sh: a debootstrap'd bookworm minbase (plus git and
# ca-certificates) with Node.js 20 copied in, as the root of a private mount namespace, where
# `CI=true bash .ci/run` installed every package below, built actool, made the test user and ran the
# suite (2026-11-27: 894 of 895 passed; the one failure, a sandbox test's 60 s timeout, came from a
# load average of 15 on the shared machine, not from a missing tool). Not tested there: a real new machine's kernel and cgroup set-up (the simulation
# shares this machine's), the /usr/local/bin/docker client such machines carry (Debian's
# /usr/bin/docker is preferred by the tests anyway), and an apt mirror slower than this one (apt has
# no timeout of its own here; the install took 2 to 6 minutes on a loaded 2-core machine).
set -euo pipefail

mode=test
case "${1:-}" in
  --main) mode=main ;;
  --test | '') mode=test ;;
  *) echo "usage: $0 [--main|--test]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
say() { printf '[setup] %s\n' "$*"; }
t_start=$SECONDS

# --- Debian packages --------------------------------------------------------------------------
# What `rootc build` needs at run time (namespaces, tar formats, xattrs, caps, OpenPGP, debootstrap).
main_pkgs=(util-linux tar xz-utils zstd bzip2 gzip attr libcap2-bin gnupg debootstrap ca-certificates
  uidmap busybox-static curl file)
# What the test suite adds: real tools to check the outputs against, and servers to run images in.
test_pkgs=(docker.io umoci skopeo golang-go golang-github-appc-spec-dev docker-registry apache2-utils
  openssl procps iproute2 git)
pkgs=("${main_pkgs[@]}")
[[ $mode == test ]] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  say "Debian packages: all ${#pkgs[@]} present"
elif [[ ${ROOTC_SKIP_APT:-} == 1 || $(id -u) != 0 ]]; then
  say "Debian packages missing (not root or ROOTC_SKIP_APT=1, not installing): ${missing[*]}"
else
  say "Debian packages to install: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -q)
  # No init system here: keep package scripts from trying to start docker/registry services;
  # the test suite starts its own. Only add the policy file if none exists, and remove it after.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  cleanup_policy() { if ((own_policy)); then rm -f "$policy"; fi; }
  trap cleanup_policy EXIT
  say "apt-get update"
  apt-get "${apt_opts[@]}" update >/tmp/rootc-apt-update.log 2>&1 || {
    cat /tmp/rootc-apt-update.log >&2
    exit 1
  }
  say "apt-get install (${#missing[@]} packages)"
  if ! apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >/tmp/rootc-apt-install.log 2>&1; then
    tail -n 40 /tmp/rootc-apt-install.log >&2
    exit 1
  fi
  cleanup_policy
  trap - EXIT
  say "Debian packages installed ($((SECONDS - t_start)) s)"
fi

# --- actool (appc's ACI validator), built from Debian's Go source package ----------------------
if [[ $mode == test ]]; then
  if [[ -n ${ROOTC_TOOLS_DIR:-} ]]; then
    tools_dir=$ROOTC_TOOLS_DIR
  elif [[ $(id -u) == 0 ]]; then
    tools_dir=/var/cache/rootc-test
  else
    tools_dir=${XDG_CACHE_HOME:-$HOME/.cache}/rootc-test
  fi
  actool=$tools_dir/bin/actool
  src_version=$(dpkg-query -W -f='${Version}' golang-github-appc-spec-dev 2>/dev/null || true)
  if [[ -z $src_version ]] || ! command -v go >/dev/null; then
    say "actool: not built (golang-go or golang-github-appc-spec-dev missing)"
  elif [[ -x $actool && $(cat "$actool.version" 2>/dev/null) == "$src_version" ]]; then
    say "actool: $actool (appc spec $src_version)"
  else
    say "actool: building from golang-github-appc-spec-dev $src_version"
    mkdir -p "$tools_dir/bin" "$tools_dir/gocache"
    GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$tools_dir/gocache" \
      go build -o "$actool.tmp" github.com/appc/spec/actool
    mv -f "$actool.tmp" "$actool"
    printf '%s\n' "$src_version" >"$actool.version"
    say "actool: built $actool"
  fi
fi

# --- unprivileged test user for rootless builds (issue 7) --------------------------------------
if [[ $mode == test && $(id -u) == 0 ]]; then
  if ! id rootc-test >/dev/null 2>&1; then
    useradd -m -s /bin/bash rootc-test
    say "user rootc-test created"
  fi
  for f in /etc/subuid /etc/subgid; do
    touch "$f"
    if ! grep -q '^rootc-test:' "$f"; then
      # Next free 65536-id range after every range already allocated (at least 100000).
      start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' "$f")
      printf 'rootc-test:%s:65536\n' "$start" >>"$f"
      say "rootc-test: $f range $start+65536"
    fi
  done
fi

# --- npm dependencies --------------------------------------------------------------------------
# `npm ci` wipes node_modules, so run it only when the lock file changed since the last install.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.rootc-lock-sha256
if [[ -d node_modules && -f $stamp && $(cat "$stamp") == "$lock_sum" ]]; then
  say "npm: node_modules up to date"
else
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$lock_sum" >"$stamp"
fi

# Editor support (issue 5): the VS Code extension's own npm packages, from its own lock (test/editors packages the .vsix).
if [[ $mode == test ]]; then bash editors/vscode/install.sh; fi

say "done ($((SECONDS - t_start)) s)"
