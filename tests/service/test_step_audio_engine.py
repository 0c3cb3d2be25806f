"""The step-audio engine end to end: a tiny causal LM with Step-Audio-TTS-3B's interfaces (built
here, random weights) as tts_generator in a real Triton, behind a real voxgate over real gRPC.

The model knows no speech, so what is checked is the plumbing a real Step-Audio-TTS-3B would go
through: streamed groups within a clause, valid interleaved tokens that decode, cloning through
the template (the prompt's tokens change what is generated), styles as Step-Audio prefixes,
seeded determinism, cancel reaching the model, and errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from tritonclient.utils import np_to_triton_dtype
from voxgate.config import Settings
from voxgate.model_names import DETOKENIZE, TTS_GENERATOR
from voxgate.server import create_server
from voxgate.triton import TritonModels, authenticate
from voxgate.v1 import audio_pb2, synthesis_pb2, synthesis_pb2_grpc

from tests.conftest import speechlike, wav_bytes
from tests.service.conftest import (
    MODEL_REPOSITORY,
    running_triton,
    test_repository,
    triton_metrics,
)
from tests.tiny_step_audio import build_tiny_step_audio, write_speakers

pytestmark = pytest.mark.triton
pb = synthesis_pb2
C = grpc.StatusCode
F32 = audio_pb2.OutputAudioFormat(
    container=audio_pb2.AUDIO_CONTAINER_RAW, encoding=audio_pb2.PCM_ENCODING_F32LE
)
SENTENCE = "Hello there, this is voxgate."
SPEAKER_TOKENS = [3, 7, 1024 + 5, 1024 + 9, 1024 + 11] * 4
STREAM_GROUPS = 2
OUTPUTS = ("audio_tokens", "clause_index", "word_timings", "end_of_clause")


def step_audio_config(model_dir: Path) -> str:
    """tts_generator's config with the step-audio engine's parameters."""
    config = (MODEL_REPOSITORY / TTS_GENERATOR / "config.pbtxt").read_text()
    head = config[: config.index("parameters [")]
    return head + (
        "parameters [\n"
        '  { key: "engine", value: { string_value: "step-audio" } },\n'
        f'  {{ key: "model_dir", value: {{ string_value: "{model_dir}" }} }},\n'
        '  { key: "voice_default", value: { string_value: "tingting" } },\n'
        f'  {{ key: "stream_groups", value: {{ string_value: "{STREAM_GROUPS}" }} }},\n'
        '  { key: "max_seconds_per_char", value: { string_value: "0.1" } },\n'
        '  { key: "intra_op_threads", value: { string_value: "1" } }\n'
        "]\n"
    )


@pytest.fixture(scope="module")
async def step_triton(tmp_path_factory):
    model_dir = build_tiny_step_audio(tmp_path_factory.mktemp("tiny") / "Step-Audio-TTS-tiny")
    write_speakers(model_dir, {"tingting": ("Hello, my name is Tingting.", SPEAKER_TOKENS)})
    repo = tmp_path_factory.mktemp("step_repository") / "models"
    test_repository(repo)
    (repo / TTS_GENERATOR).unlink()
    shutil.copytree(MODEL_REPOSITORY / TTS_GENERATOR, repo / TTS_GENERATOR)
    (repo / TTS_GENERATOR / "config.pbtxt").write_text(step_audio_config(model_dir))
    async with running_triton(
        repo, tmp_path_factory.mktemp("step_triton"), (TTS_GENERATOR, DETOKENIZE)
    ) as runtime:
        yield runtime


@pytest.fixture(scope="module")
async def step_models(step_triton):
    models = TritonModels(step_triton.url, 30.0)
    yield models
    await models.close()


@pytest.fixture(scope="module")
async def step_channel(step_triton, tmp_path_factory):
    settings = Settings(
        voices_db=tmp_path_factory.mktemp("step_data") / "voices.sqlite3",
        host="127.0.0.1",
        port=0,
        health_poll_s=0.2,
    )
    srv, port = create_server(settings, step_triton.url)
    await srv.start()
    await asyncio.wait_for(srv.serving.wait(), 60)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield channel
    await channel.close()
    await srv.stop(grace=1.0)


def stub(channel) -> synthesis_pb2_grpc.SynthesisServiceStub:
    return synthesis_pb2_grpc.SynthesisServiceStub(channel)


async def synthesize(channel, **fields) -> list[pb.SynthesizeResponse]:
    fields.setdefault("output_format", F32)
    return [r async for r in stub(channel).Synthesize(pb.SynthesizeRequest(**fields), timeout=120)]


def tokens(pieces) -> list[int]:
    return [t for p in pieces for t in p.audio_tokens]


def samples(pieces) -> np.ndarray:
    return np.concatenate([np.frombuffer(p.audio.data, np.float32) for p in pieces])


def text_input(*clauses: str) -> dict[str, np.ndarray]:
    return {"text": np.array([c.encode() for c in clauses], np.object_)}


async def generate(models, inputs) -> list[dict]:
    return [r async for r in models.generator(TTS_GENERATOR).generate(inputs, outputs=OUTPUTS)]


# -- the model in Triton ---------------------------------------------------------------------------


async def test_groups_stream_within_a_clause_and_end_it(step_models) -> None:
    responses = await generate(step_models, text_input(SENTENCE, "And one more."))
    by_clause = [[r for r in responses if int(r["clause_index"][0]) == i] for i in (0, 1)]
    for clause in by_clause:
        flags = [bool(r["end_of_clause"][0]) for r in clause]
        assert flags[-1] and not any(flags[:-1])
        assert len(clause) >= 2  # streamed: more than one response per clause
        for r in clause[:-1]:
            assert r["audio_tokens"].size == STREAM_GROUPS * 5
    ids = np.concatenate([r["audio_tokens"] for r in responses]).reshape(-1, 5)
    assert (ids[:, :2] < 1024).all() and (ids[:, 2:] >= 1024).all() and ids.max() < 5120
    # The budget (0.1 s per character) bounds a model that never ends.
    assert len(ids) <= 2 + int(np.ceil(len(SENTENCE) * 0.1 / 0.12)) + int(np.ceil(13 * 0.1 / 0.12))


async def test_seeded_generation_is_repeatable_and_the_prompt_matters(step_models) -> None:
    a = await generate(step_models, text_input(SENTENCE))
    b = await generate(step_models, text_input(SENTENCE))
    other_seed = await generate(step_models, {**text_input(SENTENCE), "seed": np.array([7])})
    cloned = await generate(
        step_models,
        {
            **text_input(SENTENCE),
            "prompt_text": np.array([b"Good morning to you."], np.object_),
            "prompt_tokens": np.array([1, 2, 2000, 2001, 2002] * 6, np.int64),
        },
    )

    def ids(rs):
        return np.concatenate([r["audio_tokens"] for r in rs]).tolist()

    assert ids(a) == ids(b)
    assert ids(a) != ids(other_seed)
    assert ids(a) != ids(cloned)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"voice": np.array([b"nobody"], np.object_)}, "unknown speaker"),
        ({"prompt_text": np.array([b"hi"], np.object_)}, "both required"),
        (
            {
                "prompt_text": np.array([b"hi"], np.object_),
                "prompt_tokens": np.array([1, 2, 3], np.int64),
            },
            "whole groups",
        ),
        (
            {
                "prompt_text": np.array([b"hi"], np.object_),
                "prompt_tokens": np.array([1, 2, 3, 4, 9999], np.int64),
            },
            "ids must be in",
        ),
    ],
)
async def test_bad_requests_fail_with_the_model_message(step_triton, extra, message) -> None:
    # Straight to Triton (tritonclient), to read the model's own error message.
    import tritonclient.grpc as triton_grpc

    client = authenticate(triton_grpc.InferenceServerClient(step_triton.url), step_triton.url)
    results: list = []
    client.start_stream(callback=lambda result, error: results.append(error or result))
    inputs = []
    for name, value in {**text_input(SENTENCE), **extra}.items():
        tensor = triton_grpc.InferInput(name, list(value.shape), np_to_triton_dtype(value.dtype))
        tensor.set_data_from_numpy(value)
        inputs.append(tensor)
    client.async_stream_infer(TTS_GENERATOR, inputs, enable_empty_final_response=True)
    for _ in range(200):
        if results:
            break
        await asyncio.sleep(0.05)
    client.stop_stream()
    client.close()
    assert results and isinstance(results[0], Exception), results
    assert message in str(results[0])


async def test_leaving_the_iteration_cancels_generation(step_models, step_triton) -> None:
    before = await triton_metrics(step_triton.metrics_url, "voxgate_tts_")
    long_text = " ".join(["This clause goes on and on for quite a while."] * 6)
    gen = step_models.generator(TTS_GENERATOR).generate(text_input(long_text), outputs=OUTPUTS)
    async with contextlib.aclosing(gen):
        await anext(gen)
    left = time.monotonic()
    cancelled = 'voxgate_tts_requests_total{outcome="cancelled"}'
    while True:
        after = await triton_metrics(step_triton.metrics_url, "voxgate_tts_")
        if (
            after[cancelled] == before.get(cancelled, 0) + 1
            and after["voxgate_tts_active_requests"] == 0
        ):
            break
        assert time.monotonic() - left < 2.0, (before, after)
        await asyncio.sleep(0.02)
    generated = after["voxgate_tts_groups_total"] - before.get("voxgate_tts_groups_total", 0)
    budget = int(np.ceil(len(long_text) * 0.1 / 0.12))
    assert generated < budget / 2  # stopped long before the clause's end
    print(f"cancel settled in {(time.monotonic() - left) * 1000:.0f} ms, {generated:.0f} groups")


# -- through voxgate -------------------------------------------------------------------------------


async def test_synthesize_streams_decoded_audio(step_channel) -> None:
    pieces = await synthesize(step_channel, text=SENTENCE)
    assert pieces[-1].final and len(pieces) >= 3
    report = pieces[0].report
    assert report.engine == "step-audio"
    ids = tokens(pieces)
    assert ids and len(ids) % 5 == 0
    rate = pieces[0].audio.format.sample_rate_hz
    assert len(samples(pieces)) == len(ids) // 5 * rate * 120 // 1000
    assert tokens(await synthesize(step_channel, text=SENTENCE)) == ids


async def test_styles_become_step_audio_prefixes(step_channel) -> None:
    plain = await synthesize(step_channel, text=SENTENCE)
    styled = await synthesize(
        step_channel,
        text=SENTENCE,
        style_instruction="(高兴1) slowly",
        style=pb.SpeechStyle(pitch_semitones=3),
    )
    report = styled[0].report
    assert report.applied.emotion == "happy" and report.applied.speed == pytest.approx(0.8)
    assert any("pitch_semitones=3" in n for n in report.not_applied)
    assert tokens(styled) != tokens(plain)  # the prefix is in the prompt


async def test_cloning_puts_the_prompt_in_the_template(step_channel) -> None:
    prompt = wav_bytes(speechlike(3.0, seed=3), 16000)
    transcript = "This is how my voice sounds."
    created = await stub(step_channel).CreateVoice(
        pb.CreateVoiceRequest(
            prompt=pb.VoicePrompt(
                audio=audio_pb2.AudioInput(container=prompt), transcript=transcript
            ),
            name="Prompted",
            consent_note="synthetic test voice",
        ),
        timeout=60,
    )
    default = await synthesize(step_channel, text=SENTENCE)
    cloned = await synthesize(step_channel, text=SENTENCE, voice=created.voice.id)
    once = await synthesize(
        step_channel,
        text=SENTENCE,
        prompt=pb.VoicePrompt(audio=audio_pb2.AudioInput(container=prompt), transcript=transcript),
    )
    assert cloned[0].report.voice == created.voice.id
    assert tokens(cloned) != tokens(default)
    assert tokens(once) == tokens(cloned)  # the same prompt tokens, registered or not


async def test_unknown_voice_is_not_found(step_channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await synthesize(step_channel, text=SENTENCE, voice="v-missing")
    assert err.value.code() == C.NOT_FOUND
