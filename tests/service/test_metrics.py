"""The Prometheus endpoint over real HTTP: the façade's call metrics (streaming first-response
and gap histograms, calls in progress) and the embedded Triton's own metrics, re-exported."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from pathlib import Path

import pytest
from voxgate.metrics import start_metrics
from voxgate.runtime import free_port
from voxgate.v1 import audio_pb2, synthesis_pb2, synthesis_pb2_grpc

pytestmark = pytest.mark.triton


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read().decode()


def value(text: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    assert found, f"{series} not exported"
    return float(found.group(1))


async def test_one_endpoint_shows_the_facade_and_triton(channel, triton):
    port = free_port()
    server = start_metrics(port, "127.0.0.1", triton.metrics_url)
    assert server is not None
    try:
        stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
        request = synthesis_pb2.SynthesizeRequest(
            text="Hello there. This is a test of two clauses.",
            output_format=audio_pb2.OutputAudioFormat(container=audio_pb2.AUDIO_CONTAINER_RAW),
        )
        pieces = [p async for p in stub.Synthesize(request, timeout=60)]
        assert len(pieces) >= 3
        text = await asyncio.to_thread(scrape, f"http://127.0.0.1:{port}/metrics")
        first = value(text, 'voxgate_first_response_seconds_count{method="Synthesize"}')
        gaps = value(text, 'voxgate_response_gap_seconds_count{method="Synthesize"}')
        assert first >= 1 and gaps >= len(pieces) - 1
        assert value(text, 'voxgate_active_calls{method="Synthesize"}') == 0
        # Triton's own series, and those its Python models publish, on the same page.
        assert re.search(r'^nv_inference_count\{model="tts_generator",version="1"\} \d', text, re.M)
        assert "voxgate_tts_groups_total" in text
        assert start_metrics(port, "127.0.0.1", None) is None  # in use: logged, not fatal
    finally:
        server.shutdown()
        server.server_close()


DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "voxgate.json"


def exported_names(text: str) -> set[str]:
    """Every series name the page has or declares (a declared family may have no samples yet:
    a counter of refusals before the first refusal)."""
    names = set(re.findall(r"^([a-zA-Z_:][\w:]*)(?:\{| )", text, re.M))
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        names.add(name)
        if kind == "counter":
            names.add(name if name.endswith("_total") else name + "_total")
        if kind == "histogram":
            names |= {name + s for s in ("_bucket", "_sum", "_count")}
    return names


async def test_the_dashboard_plots_only_exported_metrics(channel, triton):
    port = free_port()
    server = start_metrics(port, "127.0.0.1", triton.metrics_url)
    assert server is not None
    try:
        stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
        request = synthesis_pb2.SynthesizeRequest(text="Hello there. One more clause.")
        [p async for p in stub.Synthesize(request, timeout=60)]
        text = await asyncio.to_thread(scrape, f"http://127.0.0.1:{port}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    plotted = {m for e in exprs for m in re.findall(r"\b([a-z_:][a-z0-9_:]*)\{", e)}
    assert len(plotted) >= 15
    assert plotted - exported_names(text) == set()
