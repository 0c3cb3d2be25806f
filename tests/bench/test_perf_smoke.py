"""Smoke test of the performance suite: `make perf-smoke` (`python -m bench.perf --smoke`).

Runs for real: perf_analyzer (obtained and cached as bench/perf/tools.py does) on the tokenize
ensemble at concurrency 1 against a loopback Triton, then a few seconds of the load generator
against a real `voxgate serve` and the FastAPI peer. Checks that the outputs exist and hold
sane figures, never timings. A machine where perf_analyzer cannot be obtained fails here.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.triton, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_perf_smoke_writes_sane_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.perf", "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=REPO,
    )
    if done.returncode == 2:
        pytest.fail(f"perf_analyzer could not be obtained on this machine:\n{done.stderr[-2000:]}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    (row,) = list(csv.DictReader((tmp_path / "perf_analyzer.csv").open()))
    assert row["model"] == "tokenize" and row["concurrency"] == "1" and not row["error"]
    assert float(row["infer_per_s"]) > 0
    assert 0 < float(row["p50_ms"]) <= float(row["p99_ms"])
    assert float(row["server_tree_peak_rss_mb"]) > 50
    assert (tmp_path / "perf_analyzer.png").stat().st_size > 1000

    res = json.loads((tmp_path / "loadgen.json").read_text())
    rows = res["unary"]["rows"]
    assert {r["target"] for r in rows} == {"voxgate", "fastapi", "fastapi_joint"}
    assert {r["mode"] for r in rows} == {"closed", "open"}
    for r in rows:
        assert r["ok"] > 0 and not r["errors"], r
        assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]
        assert r["peak_rss_mb"] > 20 and r["loadavg_1m"] >= 0
    (comp,) = res["unary"]["comparison"]
    assert comp["throughput_ratio"] > 0 and comp["throughput_ratio_joint"] > 0
    (streams,) = res["streams"]
    assert streams["ok"] == streams["streams"] == 2 and not streams["errors"]
    assert streams["groups"] > 0 and streams["first_response_p50_ms"] > 0
    assert streams["gap_p50_ms"] > 0
    overhead = res["overhead"]
    assert overhead["repeats"] > 0 and overhead["grpc_p50_ms"] > 0
    assert overhead["in_process_p50_ms"] > 0
    assert (tmp_path / "loadgen_unary.csv").exists() and (tmp_path / "loadgen_streams.csv").exists()
    assert (tmp_path / "loadgen.png").stat().st_size > 1000

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["targets"]) == 4
    assert summary["load_before"]["loadavg_1m"] >= 0
    assert summary["perf_analyzer_version"].startswith("Perf Analyzer")
