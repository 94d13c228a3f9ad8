#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs rootc's main job.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
npm run build
node bin/rootc.js --help
