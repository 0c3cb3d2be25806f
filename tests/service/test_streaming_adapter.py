"""The streaming adapter (decoupled Triton models -> async iterator) against a real Triton:
responses in order, model errors, deadlines, and cancellation that reaches the model."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
from voxgate.errors import DeadlineExceeded, ModelFailed
from voxgate.logs import REQUEST_ID
from voxgate.triton import TritonModels

pytestmark = pytest.mark.triton

OUTPUTS = ("index", "label")


@pytest.fixture
async def models(triton):
    m = TritonModels(triton.url, 30.0)
    yield m
    await m.close()


def _inputs(count: int, interval_ms: int, fail_at: int | None = None) -> dict[str, np.ndarray]:
    inputs = {
        "count": np.array([count], np.int32),
        "interval_ms": np.array([interval_ms], np.int32),
    }
    if fail_at is not None:
        inputs["fail_at"] = np.array([fail_at], np.int32)
    return inputs


def _events(model_repository: Path, rid: str) -> list[dict]:
    path = model_repository / "stream_probe" / "events.jsonl"
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line]
    return [e for e in lines if e["id"] == rid]


async def _wait_for_end(model_repository: Path, rid: str, timeout_s: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ends = [e for e in _events(model_repository, rid) if e["event"] not in ("start", "step")]
        ends = [e for e in ends if e["event"] != "final_flag_not_sent"]
        if ends:
            return ends[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(
        f"stream_probe never ended request {rid}: {_events(model_repository, rid)}"
    )


def _rid(name: str) -> str:
    rid = f"{name}-{time.monotonic_ns()}"
    REQUEST_ID.set(rid)  # the adapter sends the current request id to Triton
    return rid


async def test_streams_every_response_in_order(models, model_repository):
    rid = _rid("all")
    got = [
        r async for r in models.generator("stream_probe").generate(_inputs(6, 5), outputs=OUTPUTS)
    ]
    assert [int(r["index"][0]) for r in got] == list(range(6))
    assert [r["label"][0] for r in got] == [f"step {i}".encode() for i in range(6)]
    end = await _wait_for_end(model_repository, rid)
    assert end["event"] == "finished" and end["steps"] == 6


async def test_leaving_early_cancels_the_request_in_the_model(models, model_repository):
    rid = _rid("break")
    stream = models.generator("stream_probe").generate(_inputs(200, 20), outputs=OUTPUTS)
    async with contextlib.aclosing(stream):
        async for r in stream:
            if int(r["index"][0]) == 2:
                break
    left_at = time.time()
    end = await _wait_for_end(model_repository, rid)
    assert end["event"] == "cancelled"
    assert 3 <= end["steps"] < 10
    assert end["active_after"] == 0 or end["active_after"] < 3  # its own state was freed
    # The model stopped within one step interval (20 ms) plus scheduling slack.
    assert end["t"] - left_at < 0.5


async def test_cancelling_the_caller_cancels_the_request(models, model_repository):
    rid = _rid("task")
    first = asyncio.Event()

    async def consume():
        async for _ in models.generator("stream_probe").generate(_inputs(500, 10), outputs=OUTPUTS):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    end = await _wait_for_end(model_repository, rid)
    assert end["event"] == "cancelled" and end["steps"] < 100


async def test_deadline_becomes_deadline_exceeded_and_stops_the_model(models, model_repository):
    rid = _rid("deadline")
    got = []
    with pytest.raises(DeadlineExceeded):
        async for r in models.generator("stream_probe").generate(
            _inputs(1000, 20), outputs=OUTPUTS, timeout_s=0.4
        ):
            got.append(r)
    assert 0 < len(got) < 100
    end = await _wait_for_end(model_repository, rid)
    assert end["event"] == "cancelled"


async def test_model_error_becomes_model_failed(models, model_repository):
    rid = _rid("fail")
    got = []
    with pytest.raises(ModelFailed) as info:
        async for r in models.generator("stream_probe").generate(
            _inputs(10, 1, fail_at=3), outputs=OUTPUTS
        ):
            got.append(int(r["index"][0]))
    assert got == [0, 1, 2]
    assert "stream_probe failed" in info.value.message and "step" not in info.value.message
    assert (await _wait_for_end(model_repository, rid))["event"] == "failed"


async def test_concurrent_streams_are_independent(models):
    async def run(n: int) -> list[int]:
        stream = models.generator("stream_probe").generate(_inputs(n, 5), outputs=OUTPUTS)
        return [int(r["index"][0]) async for r in stream]

    results = await asyncio.gather(*(run(n) for n in (3, 7, 5, 1)))
    assert results == [list(range(n)) for n in (3, 7, 5, 1)]


async def test_unknown_model_is_model_failed(models):
    with pytest.raises(ModelFailed):
        async for _ in models.generator("no_such_model").generate(_inputs(1, 1), outputs=OUTPUTS):
            pass
