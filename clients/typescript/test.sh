#!/usr/bin/env bash
# Installs the TypeScript client's pinned dependencies (npm registry), builds it (the library, the
# tests and the example programs in examples/: tokenize, synthesize, chat) and runs its tests:
# offline unit tests (the chat session against a scripted in-process server too), then the
# conformance and chat tests against a live voxgate: the server at $VOXGATE_ADDR (host:port) when
# set, else a fresh one that `voxgate with-server` starts for the duration of `node --test`
# (<repo>/.venv/bin/voxgate, or $VOXGATE_BIN). The TLS tests (test/tls.test.ts) use a second
# voxgate with TLS, mutual TLS and tokens on, started at the same time in the background
# (../tls-test-server.sh).
set -euo pipefail
cd "$(dirname "$0")"
REPO="$(cd ../.. && pwd)"
# The servers started here run tests' calls side by side, not real-time load: lift the stream
# cap (4 per core by default, docs/security.md) so a parallel test is never refused.
export VOXGATE_MAX_STREAMS="${VOXGATE_MAX_STREAMS:-64}"
VOXGATE="${VOXGATE_BIN:-$REPO/.venv/bin/voxgate}"
command -v node >/dev/null || { echo "node (>= 20) is required" >&2; exit 1; }
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
  || { echo "node >= 20 required, found $(node --version)" >&2; exit 1; }
# The TLS server starts first, so that its Triton loads during npm ci and tsc.
source ../tls-test-server.sh
tls_server_start "$REPO" "$VOXGATE"
npm ci --no-audit --no-fund
rm -rf dist
npx --no-install tsc -p tsconfig.json
with_server=()
if [ -z "${VOXGATE_ADDR:-}" ]; then
  with_server=("$VOXGATE" with-server --)
fi
"${with_server[@]}" bash ../tls-test-server.sh run -- \
  node --test --test-concurrency=1 dist/test/unit.test.js dist/test/chat-unit.test.js \
  dist/test/conformance.test.js dist/test/service-config.test.js dist/test/chat.test.js dist/test/tls.test.js
