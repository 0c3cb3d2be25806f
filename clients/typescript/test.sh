#!/usr/bin/env bash
# Installs the TypeScript client's pinned dependencies (npm registry), builds it and runs its tests:
# offline unit tests, then the conformance tests against a live voxgate, started from
# <repo>/.venv/bin/voxgate (or $VOXGATE_BIN), or the server at $VOXGATE_ADDR when set.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
  || { echo "node >= 20 required, found $(node --version)" >&2; exit 1; }
npm ci --no-audit --no-fund
rm -rf dist
npx --no-install tsc -p tsconfig.json
node --test --test-concurrency=1 dist/test/unit.test.js dist/test/conformance.test.js
