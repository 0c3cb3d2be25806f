#!/usr/bin/env bash
# Regenerates the checked-in Java stubs (clients/java/src/main/generated) from proto/voxgate/v1,
# and copies the server's published gRPC service config into the client's resources.
# Pinned generators, fetched from Maven Central: protoc 3.25.8 (com.google.protobuf:protoc) and
# protoc-gen-grpc-java 1.81.0 (io.grpc:protoc-gen-grpc-java), driven by buf 1.75.0 (tools/).
# The runtime versions in pom.xml (protobuf-java 3.25.8, grpc-* 1.81.0) must match these.
set -euo pipefail
cd "$(dirname "$0")/../.."

protoc_version=3.25.8
grpc_java_version=1.81.0
dependency_plugin=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) classifier=linux-x86_64 ;;
  Linux-aarch64 | Linux-arm64) classifier=linux-aarch_64 ;;
  Darwin-x86_64) classifier=osx-x86_64 ;;
  Darwin-arm64) classifier=osx-aarch_64 ;;
  *) echo "unsupported platform $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

buf=tools/node_modules/.bin/buf
if [ ! -x "$buf" ]; then
  (cd tools && npm ci --no-audit --no-fund)
fi

bin=clients/java/target/voxgate-gen/bin
mkdir -p "$bin"
fetch() { # groupId:artifactId:version, destination name
  local coords=$1 name=$2
  local tmp=clients/java/target/voxgate-gen/download
  rm -rf "$tmp"
  if ! mvn -q -B -Dstyle.color=never "$dependency_plugin:copy" -Dartifact="$coords:exe:$classifier" \
    -DoutputDirectory="$tmp" -Dmdep.overWriteReleases=true >"$tmp.log" 2>&1; then
    cat "$tmp.log" >&2
    exit 1
  fi
  mv "$tmp"/*.exe "$bin/$name"
  chmod +x "$bin/$name"
  rm -rf "$tmp"
}
fetch "com.google.protobuf:protoc:$protoc_version" protoc
fetch "io.grpc:protoc-gen-grpc-java:$grpc_java_version" protoc-gen-grpc-java

have=$("$bin/protoc" --version)
[ "$have" = "libprotoc ${protoc_version#3.}" ] || { echo "unexpected protoc: $have" >&2; exit 1; }

out=clients/java/src/main/generated
rm -rf "$out"
mkdir -p "$out"
"$buf" generate --template clients/java/buf.gen.yaml proto

# The service config VoxgateClient loads (a classpath resource); CI fails if the copy is stale.
res=clients/java/src/main/resources/dev/voxgate
mkdir -p "$res"
cp service/voxgate/service_config.json "$res/service_config.json"
