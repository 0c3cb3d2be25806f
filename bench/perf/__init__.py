"""perf_analyzer suite and voxgate load generator (`python -m bench.perf`, `make perf`)."""
