#!/usr/bin/env bash
# Regenerates the checked-in Go stubs (clients/go/gen/voxgate/v1) from proto/voxgate/v1, and
# copies the server's published gRPC service config into the client package (//go:embed).
# Pinned: buf 1.75.0 (tools/package.json), protoc-gen-go v1.36.12, protoc-gen-go-grpc v1.6.2.
# The plugins are installed from the Go module proxy into clients/go/.bin (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."

protoc_gen_go=v1.36.12
protoc_gen_go_grpc=v1.6.2
bin=clients/go/.bin

buf=tools/node_modules/.bin/buf
if [ ! -x "$buf" ]; then
  (cd tools && npm ci --no-audit --no-fund)
fi

# go install is a no-op when the pinned binary is already built; --version guards a stale one.
have() { [ -x "$bin/$1" ] && [ "$("$bin/$1" --version 2>/dev/null | awk '{print $NF}')" = "$2" ]; }
have protoc-gen-go "$protoc_gen_go" ||
  GOBIN="$PWD/$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$protoc_gen_go"
have protoc-gen-go-grpc "${protoc_gen_go_grpc#v}" ||
  GOBIN="$PWD/$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$protoc_gen_go_grpc"

rm -rf clients/go/gen
"$buf" generate --template clients/go/buf.gen.yaml proto

# The service config Dial uses (voxgate/client.go embeds it); CI fails if the copy is stale.
cp service/voxgate/service_config.json clients/go/voxgate/service_config.json
