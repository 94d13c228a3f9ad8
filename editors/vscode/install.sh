#!/usr/bin/env bash
# Installs the extension's own npm packages (esbuild, @vscode/vsce, vscode-languageclient) from its
# own package-lock.json, kept apart from rootc's; skipped when the lock has not changed since.
set -euo pipefail
cd "$(dirname "$0")"
sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -d node_modules && -f .install-stamp && $(cat .install-stamp) == "$sum" ]]; then
  echo "[editors/vscode] node_modules up to date"
  exit 0
fi
echo "[editors/vscode] npm ci"
npm ci --no-audit --no-fund --loglevel=error
printf '%s\n' "$sum" >.install-stamp
