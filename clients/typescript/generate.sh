#!/usr/bin/env bash
# Regenerates the checked-in TypeScript stubs (clients/typescript/src/gen) from proto/voxgate/v1,
# and copies the server's published gRPC service config to src/service_config.json.
# Pinned generators: buf 1.75.0 (tools/package-lock.json) running ts-proto 2.18.0 as a local
# plugin (clients/typescript/package-lock.json). Output is deterministic (no paths, no times).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
if [ ! -x tools/node_modules/.bin/buf ]; then
  (cd tools && npm ci --no-audit --no-fund)
fi
if [ ! -x clients/typescript/node_modules/.bin/protoc-gen-ts_proto ]; then
  (cd clients/typescript && npm ci --no-audit --no-fund)
fi
want_buf=1.75.0
have_buf=$(tools/node_modules/.bin/buf --version)
[ "$have_buf" = "$want_buf" ] || { echo "buf $want_buf required, found $have_buf" >&2; exit 1; }
want_tsp=2.18.0
have_tsp=$(node -p 'require("./clients/typescript/node_modules/ts-proto/package.json").version')
[ "$have_tsp" = "$want_tsp" ] || { echo "ts-proto $want_tsp required, found $have_tsp" >&2; exit 1; }
rm -rf clients/typescript/src/gen
tools/node_modules/.bin/buf generate --template clients/typescript/buf.gen.yaml proto
# The service config the client loads (src/service-config.ts imports it); CI fails if it is stale.
cp service/voxgate/service_config.json clients/typescript/src/service_config.json
echo "generated: $(cd "$root" && find clients/typescript/src/gen -name '*.ts' | sort | tr '\n' ' ')"
