#!/usr/bin/env bash
# Builds the Go client and runs its tests against a live voxgate: the server at $VOXGATE_ADDR
# (host:port) when set, else a fresh one that `voxgate with-server` starts for the duration of
# `go test` (<repo>/.venv/bin/voxgate, or $VOXGATE_BIN). The TLS tests (tls_test.go) use a
# second one with TLS, mutual TLS and tokens on, started at the same time in the background
# (../tls-test-server.sh). Installs the pinned grpcurl into clients/go/.bin for grpcurl_test.go.
# Needs Go >= 1.26 and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")"
REPO="$(cd ../.. && pwd)"
# The servers started here run tests' calls side by side, not real-time load: lift the stream
# cap (4 per core by default, docs/security.md) so a parallel test is never refused.
export VOXGATE_MAX_STREAMS="${VOXGATE_MAX_STREAMS:-64}"
VOXGATE="${VOXGATE_BIN:-$REPO/.venv/bin/voxgate}"

# The TLS server starts first, so that its Triton loads while the client builds.
source ../tls-test-server.sh
tls_server_start "$REPO" "$VOXGATE"

grpcurl_version=v1.9.4   # keep in step with voxgate/grpcurl_test.go

# (grpcurl -version says "dev build" when built by go install; go version -m shows the module.)
if ! { [ -x .bin/grpcurl ] &&
       go version -m .bin/grpcurl | grep -Eq "^\s+mod\s+github.com/fullstorydev/grpcurl\s+$grpcurl_version\s"; }; then
  echo "installing grpcurl $grpcurl_version into clients/go/.bin" >&2
  GOBIN="$PWD/.bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$grpcurl_version"
fi

go mod verify
go vet ./...
go build -o .bin/voxgate-tokenize ./cmd/voxgate-tokenize
go build -o .bin/voxgate-synthesize ./cmd/voxgate-synthesize
go build -o .bin/voxgate-chat ./cmd/voxgate-chat

with_server=()
if [ -z "${VOXGATE_ADDR:-}" ]; then
  with_server=("$VOXGATE" with-server --)
fi
VOXGATE_REQUIRE_GRPCURL=1 GRPCURL="$PWD/.bin/grpcurl" VOXGATE_SYNTHESIZE_CLI="$PWD/.bin/voxgate-synthesize" \
  VOXGATE_CHAT_CLI="$PWD/.bin/voxgate-chat" VOXGATE_TOKENIZE_CLI="$PWD/.bin/voxgate-tokenize" \
  "${with_server[@]}" bash ../tls-test-server.sh run -- go test -count=1 -timeout 10m -v ./...
