"""Generated voxgate.v1 protobuf and gRPC stubs (scripts/gen-python.sh). Do not edit."""
