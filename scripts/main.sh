#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs rootc's main job.
#
# For now the main job builds rootc and checks the sample Rootfiles (`rootc check`); once
# `rootc build` lands it becomes a real image build of samples/hello (outputs under out/).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --main

echo "[main] npm run build"
npm run build --silent

rootc() { node bin/rootc.js "$@"; }

shopt -s nullglob
samples=(samples/*/Rootfile samples/*.Rootfile)
if ! rootc check --help >/dev/null 2>&1; then
  echo "[main] this rootc has no 'check' command yet; its help:"
  rootc --help
elif ((${#samples[@]} == 0)); then
  echo "[main] no sample Rootfile under samples/ yet"
  rootc --help
else
  echo "[main] rootc check ${samples[*]}"
  rootc check "${samples[@]}"
  echo "[main] ok: ${#samples[@]} sample(s) check clean"
fi
