#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for rootc's test suite and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
npm test
