"""Transport-neutral use cases (no gRPC imports here)."""
