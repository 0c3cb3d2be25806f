"""Peer servers that voxgate is measured against (bench/perf/loadgen.py)."""
