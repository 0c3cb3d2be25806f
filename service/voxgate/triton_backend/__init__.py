"""Code that runs inside Triton's Python backend (the CPU profile's models)."""
