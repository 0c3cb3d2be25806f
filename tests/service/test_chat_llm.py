"""chat_llm in the real embedded Triton (engine llama_cpp, SmolLM2-135M-Instruct), through
voxgate's streaming adapter, as the façade will call it.

The reply streams in pieces with a running token count, is deterministic for a seed, stops at
max_tokens; bad input is one error response with a clear message; leaving the iteration
cancels the request inside the model, which its Triton custom metrics show; the two instances
serve two streams side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import numpy as np
import pytest
import voxgate.triton
from voxgate.errors import ModelFailed
from voxgate.triton import TritonModels

from tests.service.conftest import triton_metrics, wait_until_ready

pytestmark = pytest.mark.triton

MODEL = "chat_llm"
OUTPUTS = ("text", "token_count")
CAPITAL = [{"role": "user", "content": "What is the capital of France?"}]
STORY = [
    {"role": "system", "content": "You are a storyteller. Your stories are long."},
    {"role": "user", "content": "Tell me a long story about a dragon, a knight and a village."},
]


@pytest.fixture(scope="module")
async def models(triton):
    m = TritonModels(triton.url, 60.0)
    await wait_until_ready(m, (MODEL,), triton)
    yield m
    await m.close()


def inputs(messages, *, max_tokens=None, temperature=None, seed=None) -> dict[str, np.ndarray]:
    blob = messages if isinstance(messages, bytes) else json.dumps(messages).encode()
    out = {"messages": np.array([blob], np.object_)}
    if max_tokens is not None:
        out["max_tokens"] = np.array([max_tokens], np.int32)
    if temperature is not None:
        out["temperature"] = np.array([temperature], np.float32)
    if seed is not None:
        out["seed"] = np.array([seed], np.int64)
    return out


async def chat(models: TritonModels, messages, **params) -> list[tuple[str, int]]:
    gen = models.generator(MODEL)
    return [
        (r["text"].reshape(-1)[0].decode(), int(r["token_count"].reshape(-1)[0]))
        async for r in gen.generate(inputs(messages, **params), outputs=OUTPUTS)
    ]


def reply(pieces: list[tuple[str, int]]) -> str:
    return "".join(text for text, _ in pieces)


CANCELLED = 'voxgate_llm_requests_total{outcome="cancelled"}'
FINISHED = 'voxgate_llm_requests_total{outcome="finished"}'
FAILED = 'voxgate_llm_requests_total{outcome="failed"}'
TOKENS = "voxgate_llm_tokens_total"
ACTIVE = "voxgate_llm_active_requests"


# -- tests ---------------------------------------------------------------------------------------


async def test_reply_streams_in_pieces(models, triton) -> None:
    before = await triton_metrics(triton.metrics_url, "voxgate_llm_")
    pieces = await chat(models, CAPITAL, max_tokens=64, temperature=0.2, seed=1)
    text = reply(pieces)
    print(f"reply: {text!r}")
    assert len(pieces) >= 3 and text.strip()
    assert all(t for t, _ in pieces)  # no empty pieces
    counts = [n for _, n in pieces]
    assert counts == sorted(counts) and counts[0] >= 1 and counts[-1] <= 64
    assert "Paris" in text  # the note's finding at temperature 0.2 (seed 1: checked here)
    after = await triton_metrics(triton.metrics_url, "voxgate_llm_")
    assert after[FINISHED] == before.get(FINISHED, 0) + 1
    assert after[TOKENS] - before.get(TOKENS, 0) >= counts[-1]  # + an end token, if any
    assert after[ACTIVE] == 0


async def test_same_seed_same_reply(models) -> None:
    greedy = [await chat(models, STORY, max_tokens=40, temperature=0.0, seed=5) for _ in range(2)]
    assert greedy[0] == greedy[1] and reply(greedy[0]).strip()
    sampled = [await chat(models, STORY, max_tokens=40, temperature=0.9, seed=11) for _ in "ab"]
    assert sampled[0] == sampled[1]
    other = await chat(models, STORY, max_tokens=40, temperature=0.9, seed=12)
    assert reply(other) != reply(sampled[0])  # the seed does matter when sampling


async def test_max_tokens_is_respected(models) -> None:
    pieces = await chat(models, STORY, max_tokens=5, temperature=0.0, seed=0)
    assert pieces[-1][1] == 5  # the story is longer than 5 tokens: cut at exactly 5
    assert len(pieces) <= 5


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        (b"hello there", "messages: not valid JSON"),
        (b"[]", "messages: empty"),
        (b'[{"role": "wizard", "content": "hi"}]', "messages[0].role: 'wizard' is not one of"),
    ],
)
async def test_bad_input_is_one_clear_error(models, triton, monkeypatch, messages, message) -> None:
    logged: list[dict] = []

    class Recorder:
        def error(self, event: str, **kw) -> None:
            logged.append({"event": event, **kw})

    monkeypatch.setattr(voxgate.triton, "log", Recorder())
    before = await triton_metrics(triton.metrics_url, "voxgate_llm_")
    with pytest.raises(ModelFailed) as info:
        await chat(models, messages)
    assert info.value.message == f"model {MODEL} failed"  # the façade forwards no details
    (entry,) = logged
    assert message in entry["error"], entry  # Triton's message, in the façade's log
    after = await triton_metrics(triton.metrics_url, "voxgate_llm_")
    assert after[FAILED] == before.get(FAILED, 0) + 1
    assert after[ACTIVE] == 0


async def test_leaving_the_iteration_cancels_the_request(models, triton) -> None:
    params = {"max_tokens": 300, "temperature": 0.0, "seed": 3}
    full = await chat(models, STORY, **params)
    total = full[-1][1]
    assert total >= 100, reply(full)  # long enough for a cancel to matter
    before = await triton_metrics(triton.metrics_url, "voxgate_llm_")
    gen = models.generator(MODEL).generate(inputs(STORY, **params), outputs=OUTPUTS)
    async with contextlib.aclosing(gen):
        first = await anext(gen)
    left = time.monotonic()
    first_count = int(first["token_count"].reshape(-1)[0])
    while True:
        after = await triton_metrics(triton.metrics_url, "voxgate_llm_")
        if after[CANCELLED] == before.get(CANCELLED, 0) + 1 and after[ACTIVE] == 0:
            break
        assert time.monotonic() - left < 3.0, (before, after)
        await asyncio.sleep(0.02)
    settle = time.monotonic() - left
    assert after[FINISHED] == before.get(FINISHED, 0)
    generated = after[TOKENS] - before.get(TOKENS, 0)
    # ~70 tokens/s on one thread: a cancel that reaches the model within ~0.3 s stops it well
    # before the full reply
    assert first_count <= generated <= first_count + 25, (generated, total)
    print(f"cancel settled in {settle * 1000:.0f} ms; {generated:.0f} of {total} tokens generated")


async def test_two_streams_run_side_by_side(models) -> None:
    """Two instances of one thread each: a second stream does not wait for the first."""
    params = {"max_tokens": 120, "temperature": 0.0, "seed": 3}
    marks: dict[int, list[float]] = {0: [], 1: []}

    async def run(i: int) -> int:
        count = 0
        stream = models.generator(MODEL).generate(inputs(STORY, **params), outputs=OUTPUTS)
        async for r in stream:
            marks[i].append(time.monotonic())
            count = int(r["token_count"].reshape(-1)[0])
        return count

    start = time.monotonic()
    counts = await asyncio.gather(run(0), run(1))
    took = time.monotonic() - start
    assert counts[0] == counts[1] >= 60
    # each stream's first piece comes before either stream's last: they overlap
    assert max(marks[0][0], marks[1][0]) < min(marks[0][-1], marks[1][-1]), "one waited"
    rate = sum(counts) / took
    print(f"2 streams: {sum(counts)} tokens in {took:.2f} s = {rate:.0f} tokens/s together")
