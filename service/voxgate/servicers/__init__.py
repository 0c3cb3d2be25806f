"""Thin gRPC servicers: protobuf in, internal types to core/, protobuf out."""
