#!/usr/bin/env bash
# Installs the TypeScript client's pinned dependencies (npm registry), builds it (the library, the
# tests and the example programs in examples/: tokenize, synthesize, chat) and runs its tests:
# offline unit tests (the chat session against a scripted in-process server too), then the
# conformance and chat tests against a live voxgate: the server at $VOXGATE_ADDR (host:port) when
# set, else a fresh one that `voxgate with-server` starts for the duration of `node --test`
# (<repo>/.venv/bin/voxgate, or $VOXGATE_BIN).
set -euo pipefail
cd "$(dirname "$0")"
REPO="$(cd ../.. && pwd)"
command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
  || { echo "node >= 20 required, found $(node --version)" >&2; exit 1; }
npm ci --no-audit --no-fund
rm -rf dist
npx --no-install tsc -p tsconfig.json
with_server=()
if [ -z "${VOXGATE_ADDR:-}" ]; then
  with_server=("${VOXGATE_BIN:-$REPO/.venv/bin/voxgate}" with-server --)
fi
"${with_server[@]}" node --test --test-concurrency=1 dist/test/unit.test.js dist/test/chat-unit.test.js \
  dist/test/conformance.test.js dist/test/service-config.test.js dist/test/chat.test.js
