"""TokenizerService over real gRPC, against real Triton running the real ONNX models."""

from __future__ import annotations

import io

import numpy as np
import onnxruntime as ort
import pytest
import soundfile as sf
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voxgate.interleave import GROUP_SAMPLES, interleave, to_text
from voxgate.model_names import LINGUISTIC_TOKENIZER, SEMANTIC_TOKENIZER, TOKEN_DECODER, VOCODER
from voxgate.v1 import audio_pb2, tokenizer_pb2, tokenizer_pb2_grpc

from tests.conftest import speechlike, wav_bytes
from tests.service.conftest import CHUNK_GROUPS, MODEL_REPOSITORY

pytestmark = pytest.mark.triton


def _session(name: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(MODEL_REPOSITORY / name / "1" / "model.onnx"))


def whole_tokens(wav16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tokenizers run once on the whole recording, in-process: the reference."""
    x = wav16k[None, :].astype(np.float32)
    ling = _session(LINGUISTIC_TOKENIZER).run(None, {"waveform": x})[0][0]
    sem = _session(SEMANTIC_TOKENIZER).run(None, {"waveform": x})[0][0]
    return ling, sem


def stub(channel):
    return tokenizer_pb2_grpc.TokenizerServiceStub(channel)


async def tokenize(channel, data: bytes, include_text=False) -> tokenizer_pb2.TokenizeResponse:
    request = tokenizer_pb2.TokenizeRequest(
        audio=audio_pb2.AudioInput(container=data), include_text=include_text
    )
    return await stub(channel).Tokenize(request, timeout=60)


async def stream(channel, pieces, fmt: audio_pb2.StreamAudioFormat, include_text=False):
    async def requests():
        yield tokenizer_pb2.StreamTokenizeRequest(
            config=tokenizer_pb2.StreamTokenizeConfig(format=fmt, include_text=include_text)
        )
        for p in pieces:
            yield tokenizer_pb2.StreamTokenizeRequest(audio=p)

    return [r async for r in stub(channel).StreamTokenize(requests(), timeout=120)]


def cut(data: bytes, sizes) -> list[bytes]:
    out, pos, i = [], 0, 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        out.append(data[pos : pos + n])
        pos, i = pos + n, i + 1
    return out


WAV = audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV)


def joined(replies) -> list[int]:
    return [i for r in replies for i in r.tokens.interleaved]


async def test_health_is_serving(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "voxgate.v1.TokenizerService"):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_tokenize_matches_whole_recording_model_run(channel):
    # 7.3 s spans several chunk_groups windows, with a partial group at the end
    wav = speechlike(7.3, seed=3)
    reply = await tokenize(channel, wav_bytes(wav, 16000, "FLOAT"), include_text=True)
    ling, sem = whole_tokens(wav)
    groups = len(wav) // GROUP_SAMPLES
    assert groups > 2 * CHUNK_GROUPS
    t = reply.tokens
    assert t.group_count == groups
    assert list(t.linguistic) == ling[: 2 * groups].tolist()
    assert list(t.semantic) == sem[: 3 * groups].tolist()
    assert list(t.interleaved) == interleave(ling, sem).tolist()
    assert t.text == to_text(np.asarray(t.interleaved))
    assert reply.audio_duration_seconds == pytest.approx(7.3, abs=1e-3)
    assert reply.request_id


async def test_tokens_in_range_and_not_constant(channel):
    reply = await tokenize(channel, wav_bytes(speechlike(4.0, seed=5), 16000))
    t = reply.tokens
    assert all(0 <= x < 1024 for x in t.linguistic)
    assert all(0 <= x < 4096 for x in t.semantic)
    assert len(set(t.semantic)) > 5, "tokens of speech-like audio should vary"


@pytest.mark.parametrize("rate,channels", [(8000, 1), (44100, 2), (48000, 6), (192000, 1)])
async def test_any_rate_and_channel_count(channel, rate, channels):
    mono = speechlike(2.0, rate=rate, seed=7)
    frames = np.stack([mono * (0.5 + 0.1 * c) for c in range(channels)], axis=1)
    reply = await tokenize(channel, wav_bytes(frames, rate))
    assert reply.tokens.group_count == int(2.0 * 16000) // GROUP_SAMPLES


@pytest.mark.parametrize("sizes", [[333], [4096], [1, 2, 3, 5000, 17, 999]])
async def test_stream_equals_unary_for_wav_in_any_pieces(channel, sizes):
    data = wav_bytes(speechlike(3.1, rate=44100, seed=11), 44100)
    unary = (await tokenize(channel, data)).tokens
    replies = await stream(channel, cut(data, sizes), WAV)
    assert replies[-1].final and not any(r.final for r in replies[:-1])
    assert [r.group_offset for r in replies if r.tokens.group_count] == list(
        range(unary.group_count)
    )
    assert joined(replies) == list(unary.interleaved)
    assert len({r.request_id for r in replies}) == 1


async def test_stream_raw_pcm_equals_unary(channel):
    wav = speechlike(2.5, rate=22050, seed=13)
    pcm = (wav * 32767).astype("<i2").tobytes()
    raw = audio_pb2.RawAudioFormat(
        encoding=audio_pb2.PCM_ENCODING_S16LE, sample_rate_hz=22050, channels=1
    )
    unary = await stub(channel).Tokenize(
        tokenizer_pb2.TokenizeRequest(
            audio=audio_pb2.AudioInput(raw=audio_pb2.RawAudio(format=raw, data=pcm))
        ),
        timeout=60,
    )
    fmt = audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_RAW, raw=raw)
    replies = await stream(channel, cut(pcm, [640, 7, 10000]), fmt)
    got = joined(replies)
    assert got == list(unary.tokens.interleaved)


async def test_stream_answers_before_the_end(channel):
    """Groups come back while audio is still being sent (live use), not only at the end."""
    data = wav_bytes(speechlike(3.0, seed=17), 16000)
    replies = await stream(channel, cut(data, [3200]), WAV)
    assert sum(1 for r in replies if not r.final and r.tokens.group_count) > 10


async def test_stream_flac_is_decoded_at_the_end(channel):
    wav = speechlike(2.0, seed=19)
    data = wav_bytes(wav, 16000, fmt="FLAC")
    unary = (await tokenize(channel, data)).tokens
    fmt = audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_FLAC)
    replies = await stream(channel, cut(data, [1000]), fmt)
    assert joined(replies) == list(unary.interleaved)


def _decode_whole(ids: np.ndarray) -> np.ndarray:
    feats = _session(TOKEN_DECODER).run(None, {"audio_tokens": ids[None, :]})[0]
    return _session(VOCODER).run(None, {"acoustic_features": feats})[0][0]


async def test_detokenize_round_trip_and_forms(channel):
    tokens = (await tokenize(channel, wav_bytes(speechlike(3.0, seed=23), 16000))).tokens
    ids = np.asarray(tokens.interleaved, np.int64)
    forms = [
        tokenizer_pb2.DetokenizeRequest(
            interleaved=tokenizer_pb2.InterleavedTokens(ids=tokens.interleaved)
        ),
        tokenizer_pb2.DetokenizeRequest(
            streams=tokenizer_pb2.TokenStreams(
                linguistic=tokens.linguistic, semantic=tokens.semantic
            )
        ),
        tokenizer_pb2.DetokenizeRequest(text=" ".join(f"<audio_{i}>" for i in ids)),
    ]
    outputs = [await stub(channel).Detokenize(f, timeout=60) for f in forms]
    assert outputs[0].audio.data == outputs[1].audio.data == outputs[2].audio.data
    audio, rate = sf.read(io.BytesIO(outputs[0].audio.data), dtype="float32")
    assert rate == outputs[0].audio.format.sample_rate_hz
    assert len(audio) == tokens.group_count * GROUP_SAMPLES * rate // 16000
    assert outputs[0].group_count == tokens.group_count
    # The server decodes in windows of 7 groups with look-ahead; compare with one whole run.
    whole = _decode_whole(ids)
    snr = 10 * np.log10(np.sum(whole**2) / max(np.sum((whole - audio) ** 2), 1e-12))
    assert snr > 30, f"chunked decode differs from whole decode: SNR {snr:.1f} dB"


@pytest.mark.parametrize(
    "container,encoding,rate",
    [
        (audio_pb2.AUDIO_CONTAINER_RAW, audio_pb2.PCM_ENCODING_F32LE, 24000),
        (audio_pb2.AUDIO_CONTAINER_FLAC, audio_pb2.PCM_ENCODING_S24LE, 0),
        (audio_pb2.AUDIO_CONTAINER_OGG, audio_pb2.PCM_ENCODING_UNSPECIFIED, 48000),
        (audio_pb2.AUDIO_CONTAINER_WAV, audio_pb2.PCM_ENCODING_MULAW, 8000),
    ],
)
async def test_detokenize_output_formats(channel, container, encoding, rate):
    ids = [5, 9, 1030, 2000, 4000] * 6
    reply = await stub(channel).Detokenize(
        tokenizer_pb2.DetokenizeRequest(
            interleaved=tokenizer_pb2.InterleavedTokens(ids=ids),
            output_format=audio_pb2.OutputAudioFormat(
                container=container, encoding=encoding, sample_rate_hz=rate
            ),
        ),
        timeout=60,
    )
    fmt = reply.audio.format
    assert fmt.container == container
    out_rate = fmt.sample_rate_hz
    assert out_rate == (rate or out_rate)
    if container == audio_pb2.AUDIO_CONTAINER_RAW:
        n = len(reply.audio.data) // 4
    else:
        n = sf.info(io.BytesIO(reply.audio.data)).frames
    assert abs(n - 6 * 0.12 * out_rate) <= 2
    assert reply.audio.duration_seconds == pytest.approx(0.72, abs=1e-3)
