"""The step-audio profile end to end: tiny same-interface models converted by the real converter,
served by a real embedded Triton (CPU configs), called over real gRPC."""

from __future__ import annotations

import asyncio
import io

import grpc
import numpy as np
import onnxruntime as ort
import pytest
import soundfile as sf
from voxgate.config import Settings
from voxgate.interleave import GROUP_SAMPLES, LINGUISTIC_CODES
from voxgate.runtime import EmbeddedTriton
from voxgate.server import create_server
from voxgate.step_audio.convert import convert
from voxgate.triton import TritonModels
from voxgate.v1 import (
    audio_pb2,
    discovery_pb2,
    discovery_pb2_grpc,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

from tests.conftest import speechlike, wav_bytes
from tests.service.conftest import wait_until_ready
from tests.tiny_step_audio_codec import build_tokenizer_dir, build_tts_dir

pytestmark = pytest.mark.triton
WINDOW = 480000  # 30 s at 16 kHz: Step-Audio's chunk, the profile's window_groups (250)


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    root = tmp_path_factory.mktemp("step_audio")
    (root / "speaker.wav").write_bytes(wav_bytes(speechlike(1.5, 24000, seed=5), 24000))
    convert(
        build_tokenizer_dir(root / "tokenizer"),
        root / "models",
        build_tts_dir(root / "tts"),
        root / "speaker.wav",
    )
    return root / "models"


@pytest.fixture(scope="module")
async def channel(repository, tmp_path_factory):
    runtime = EmbeddedTriton(repository, "cpu", tmp_path_factory.mktemp("triton"))
    await runtime.start()
    settings = Settings(
        host="127.0.0.1",
        port=0,
        metrics_port=0,
        voices_db=tmp_path_factory.mktemp("data") / "voices.sqlite3",
        chunk_groups=20,  # ignored by this profile's tokenizers: window_groups rules
        decode_chunk_groups=250,
        max_audio_seconds=40.0,
        max_request_bytes=4 * 1024 * 1024,
        health_poll_s=0.2,
    )
    try:
        client = TritonModels(runtime.url, 30.0)
        try:
            await wait_until_ready(client, ("tokenize", "detokenize"), runtime)
        finally:
            await client.close()
        server, port = create_server(settings, runtime.url)
        await server.start()
        await asyncio.wait_for(server.serving.wait(), 60)
        ch = grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)]
        )
        yield ch
        await ch.close()
        await server.stop(grace=1.0)
    finally:
        await runtime.stop()


def _run(repository, model: str, output: str, wav: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(repository / model / "1" / "model.onnx"))
    return session.run([output], {"waveform": wav[None].astype(np.float32)})[0][0]


def _step_audio_tokens(repository, wav: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step-Audio's rule, in-process: each 30 s chunk alone, ids of whole groups kept."""
    groups = len(wav) // GROUP_SAMPLES
    ling, sem = [], []
    for start in range(0, len(wav), WINDOW):
        chunk = wav[start : start + WINDOW]
        ling.append(_run(repository, "linguistic_tokenizer", "linguistic_tokens", chunk))
        sem.append(_run(repository, "semantic_tokenizer", "semantic_tokens", chunk))
    return np.concatenate(ling)[: 2 * groups], np.concatenate(sem)[: 3 * groups]


async def _tokenize(channel, wav: np.ndarray):
    """Tokenize of a float WAV (the samples arrive exactly as `wav`)."""
    request = tokenizer_pb2.TokenizeRequest(
        audio=audio_pb2.AudioInput(container=wav_bytes(wav, 16000, "FLOAT"))
    )
    return await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(request, timeout=120)


async def test_tokenize_follows_step_audio_chunks(channel, repository):
    wav = speechlike(32.5, seed=11)  # two chunks: 30 s and 2.5 s (a partial group at the end)
    reply = await _tokenize(channel, wav)
    t = reply.tokens
    groups = len(wav) // GROUP_SAMPLES
    assert t.group_count == groups and len(t.interleaved) == 5 * groups
    assert len(t.linguistic) == 2 * groups and len(t.semantic) == 3 * groups
    ids = np.asarray(t.interleaved).reshape(-1, 5)
    assert (ids[:, :2] < LINGUISTIC_CODES).all() and (ids[:, 2:] >= LINGUISTIC_CODES).all()
    assert (ids < 5120).all() and len(np.unique(ids)) > 10
    ling, sem = _step_audio_tokens(repository, wav)
    np.testing.assert_array_equal(t.linguistic, ling)
    np.testing.assert_array_equal(t.semantic, sem)


async def test_stream_equals_whole(channel):
    wav = speechlike(31.0, seed=12)
    data = wav_bytes(wav, 16000, "FLOAT")
    whole = (await _tokenize(channel, wav)).tokens

    async def requests():
        fmt = audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV)
        yield tokenizer_pb2.StreamTokenizeRequest(
            config=tokenizer_pb2.StreamTokenizeConfig(format=fmt)
        )
        for at in range(0, len(data), 77777):
            yield tokenizer_pb2.StreamTokenizeRequest(audio=data[at : at + 77777])

    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
    replies = [r async for r in stub.StreamTokenize(requests(), timeout=120)]
    assert [i for r in replies for i in r.tokens.interleaved] == list(whole.interleaved)


async def test_detokenize_at_22050(channel):
    tokens = (await _tokenize(channel, speechlike(2.0, seed=13))).tokens
    request = tokenizer_pb2.DetokenizeRequest(
        interleaved=tokenizer_pb2.InterleavedTokens(ids=tokens.interleaved)
    )
    reply = await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Detokenize(request, timeout=60)
    audio, rate = sf.read(io.BytesIO(reply.audio.data), dtype="float32")
    assert rate == reply.audio.format.sample_rate_hz == 22050
    assert len(audio) == tokens.group_count * 2646 and np.abs(audio).max() > 0.01


async def test_discovery_reports_the_profile(channel):
    stub = discovery_pb2_grpc.DiscoveryServiceStub(channel)
    info = await stub.GetServerInfo(discovery_pb2.GetServerInfoRequest(), timeout=10)
    assert info.profile == "step-audio"
    assert info.token_spec.output_sample_rate_hz == 22050


async def test_synthesis_is_not_served(channel):
    stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in stub.Synthesize(synthesis_pb2.SynthesizeRequest(text="hi"), timeout=10):
            pass
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "tts_generator" in err.value.details()
