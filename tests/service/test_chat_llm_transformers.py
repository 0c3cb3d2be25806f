"""chat_llm with engine transformers in a real embedded Triton, on tiny random-weight models
built here (tests/tiny_chat_model.py), through voxgate's streaming adapter.

Two copies of the model folder: `chat_llm` with chat_format step_audio (laid out like
Step-Audio-Chat: audio tokens in the chat) and `chat_llm_template` with the tokenizer's chat
template. The models know no language, so what is checked is the plumbing: the reply streams
in pieces and is the engine's own, seeded and greedy replies repeat, audio tokens reach the
prompt, a cancel stops generation inside the model (its metrics), bad input is one clear error.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import voxgate.triton
from voxgate.errors import ModelFailed
from voxgate.triton import TritonModels

from tests.service.conftest import MODEL_REPOSITORY, running_triton, triton_metrics
from tests.tiny_chat_model import build_tiny_chat_model

pytestmark = pytest.mark.triton

STEP = "chat_llm"
TEMPLATE = "chat_llm_template"
OUTPUTS = ("text", "token_count")
HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello!"}]
SPEECH = [{"role": "user", "audio_tokens": [3, 7, 1029, 1030, 1031] * 4}]
CANCELLED = 'voxgate_llm_requests_total{outcome="cancelled"}'
FINISHED = 'voxgate_llm_requests_total{outcome="finished"}'
FAILED = 'voxgate_llm_requests_total{outcome="failed"}'
TOKENS = "voxgate_llm_tokens_total"
ACTIVE = "voxgate_llm_active_requests"


def transformers_config(name: str, model_dir: Path, chat_format: str) -> str:
    """chat_llm's config, renamed, with the transformers engine's parameters, one instance."""
    config = (MODEL_REPOSITORY / STEP / "config.pbtxt").read_text()
    head = config[: config.index("instance_group")].replace(f'name: "{STEP}"', f'name: "{name}"')
    return head + (
        "instance_group [ { kind: KIND_CPU, count: 1 } ]\n"
        "parameters [\n"
        '  { key: "engine", value: { string_value: "transformers" } },\n'
        f'  {{ key: "model_dir", value: {{ string_value: "{model_dir}" }} }},\n'
        f'  {{ key: "chat_format", value: {{ string_value: "{chat_format}" }} }},\n'
        '  { key: "n_threads", value: { string_value: "1" } }\n'
        "]\n"
    )


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("tiny") / "chat", chat_template=True)


@pytest.fixture(scope="module")
async def hf_triton(model_dir, tmp_path_factory):
    repo = tmp_path_factory.mktemp("hf_repository") / "models"
    for name, chat_format in ((STEP, "step_audio"), (TEMPLATE, "template")):
        shutil.copytree(
            MODEL_REPOSITORY / STEP, repo / name, ignore=shutil.ignore_patterns("__pycache__")
        )
        (repo / name / "config.pbtxt").write_text(transformers_config(name, model_dir, chat_format))
    async with running_triton(repo, tmp_path_factory.mktemp("hf_triton"), (STEP, TEMPLATE)) as rt:
        yield rt


@pytest.fixture(scope="module")
async def models(hf_triton):
    m = TritonModels(hf_triton.url, 60.0)
    yield m
    await m.close()


@pytest.fixture(scope="module")
def engine(model_dir):
    """The engine outside Triton, to compare replies with."""
    path = MODEL_REPOSITORY / STEP / "1" / "transformers_engine.py"
    spec = importlib.util.spec_from_file_location("chat_llm_transformers_reference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.TransformersEngine(str(model_dir), chat_format="step_audio")


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


async def chat(models, messages, model: str = STEP, **params) -> list[tuple[str, int]]:
    gen = models.generator(model)
    return [
        (r["text"].reshape(-1)[0].decode(), int(r["token_count"].reshape(-1)[0]))
        async for r in gen.generate(inputs(messages, **params), outputs=OUTPUTS)
    ]


def reply(pieces: list[tuple[str, int]]) -> str:
    return "".join(text for text, _ in pieces)


async def metrics(triton) -> dict[str, float]:
    return await triton_metrics(triton.metrics_url, "voxgate_llm_")


# -- tests ---------------------------------------------------------------------------------------


async def test_reply_streams_in_pieces_and_is_the_engines(models, hf_triton, engine) -> None:
    before = await metrics(hf_triton)
    pieces = await chat(models, HELLO, max_tokens=30, temperature=0.0)
    assert len(pieces) >= 3 and all(t for t, _ in pieces)  # streamed, no empty pieces
    counts = [n for _, n in pieces]
    assert counts == sorted(counts) and counts[-1] == 30
    steps = engine.stream(engine.prompt(HELLO), 30, 0.0, 0, lambda: None)
    assert reply(pieces) == "".join(t for t, _ in steps)  # greedy: what the engine makes
    after = await metrics(hf_triton)
    assert after[FINISHED] == before.get(FINISHED, 0) + 1
    assert after[TOKENS] - before.get(TOKENS, 0) == 30 and after[ACTIVE] == 0


async def test_same_seed_same_reply(models) -> None:
    greedy = [await chat(models, HELLO, max_tokens=25, temperature=0.0, seed=s) for s in (1, 2)]
    assert greedy[0] == greedy[1]  # the seed plays no part
    sampled = [await chat(models, HELLO, max_tokens=25, temperature=0.9, seed=11) for _ in "ab"]
    assert sampled[0] == sampled[1]
    other = await chat(models, HELLO, max_tokens=25, temperature=0.9, seed=12)
    assert reply(other) != reply(sampled[0])


async def test_audio_tokens_reach_the_prompt(models) -> None:
    speech = await chat(models, SPEECH, max_tokens=20, temperature=0.0)
    other = [{"role": "user", "audio_tokens": [9, 1, 2000, 3000, 4000] * 4}]
    assert reply(speech) != reply(await chat(models, other, max_tokens=20, temperature=0.0))
    assert speech[-1][1] == 20


async def test_chat_template_format(models) -> None:
    pieces = await chat(models, HELLO, TEMPLATE, max_tokens=20, temperature=0.0)
    assert pieces[-1][1] == 20 and reply(pieces) != reply(await chat(models, HELLO, max_tokens=20))


@pytest.mark.parametrize(
    ("model", "messages", "params", "message"),
    [
        (STEP, b"hello there", {}, "messages: not valid JSON"),
        (STEP, b'[{"role": "wizard", "content": "hi"}]', {}, "messages[0].role: 'wizard'"),
        (
            STEP,
            b'[{"role": "user", "audio_tokens": [5120]}]',
            {},
            "messages[0].audio_tokens: expected a list of integers in [0, 5120)",
        ),
        (
            TEMPLATE,
            json.dumps(SPEECH).encode(),
            {},
            "messages[0].audio_tokens: only chat_format step_audio takes audio tokens",
        ),
        (
            TEMPLATE,
            b'[{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]',
            {},
            "messages: the chat template refused them",
        ),
        (STEP, json.dumps(HELLO).encode(), {"max_tokens": 0}, "max_tokens: 0 outside [1, 1024]"),
    ],
)
async def test_bad_input_is_one_clear_error(
    models, hf_triton, monkeypatch, model, messages, params, message
) -> None:
    logged: list[dict] = []

    class Recorder:
        def error(self, event: str, **kw) -> None:
            logged.append({"event": event, **kw})

    monkeypatch.setattr(voxgate.triton, "log", Recorder())
    before = await metrics(hf_triton)
    with pytest.raises(ModelFailed) as info:
        await chat(models, messages, model, **params)
    assert info.value.message == f"model {model} failed"  # the façade forwards no details
    (entry,) = logged
    assert message in entry["error"], entry  # Triton's message, in the façade's log
    after = await metrics(hf_triton)
    assert after[FAILED] == before.get(FAILED, 0) + 1 and after[ACTIVE] == 0


async def test_leaving_the_iteration_cancels_the_request(models, hf_triton) -> None:
    params = {"max_tokens": 1000, "temperature": 0.0}
    started = time.monotonic()
    total = (await chat(models, HELLO, **params))[-1][1]
    took = time.monotonic() - started
    assert total == 1000  # the tiny model does not end by itself: long enough for a cancel
    before = await metrics(hf_triton)
    gen = models.generator(STEP).generate(inputs(HELLO, **params), outputs=OUTPUTS)
    async with contextlib.aclosing(gen):
        first = await anext(gen)
    left = time.monotonic()
    while True:
        after = await metrics(hf_triton)
        if after[CANCELLED] == before.get(CANCELLED, 0) + 1 and after[ACTIVE] == 0:
            break
        assert time.monotonic() - left < 3.0, (before, after)
        await asyncio.sleep(0.02)
    settle = time.monotonic() - left
    assert after[FINISHED] == before.get(FINISHED, 0)
    generated = after[TOKENS] - before.get(TOKENS, 0)
    first_count = int(first["token_count"].reshape(-1)[0])
    # The full reply took `took` s; the cancel stops the model within a fraction of it.
    assert first_count <= generated < total / 2, (generated, total, took)
    print(f"cancel settled in {settle * 1000:.0f} ms; {generated:.0f} of {total} tokens generated")
