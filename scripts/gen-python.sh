#!/usr/bin/env bash
# Regenerates the checked-in Python stubs (service/voxgate/v1) from proto/voxgate/v1.
# Pinned generator: grpcio-tools 1.81.1 (see pyproject.toml); runtime grpcio must be >= it.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
want=1.81.1
have=$("$python" -c 'import importlib.metadata as m; print(m.version("grpcio-tools"))')
[ "$have" = "$want" ] || { echo "grpcio-tools $want required, found $have" >&2; exit 1; }
out=service/voxgate/v1
rm -f "$out"/*_pb2*.py "$out"/*_pb2*.pyi
"$python" -m grpc_tools.protoc -I proto \
  --python_out=service --pyi_out=service --grpc_python_out=service \
  proto/voxgate/v1/*.proto
cat > "$out/__init__.py" <<'PY'
"""Generated voxgate.v1 protobuf and gRPC stubs (scripts/gen-python.sh). Do not edit."""
PY
