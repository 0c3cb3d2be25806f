"""Bad input gets a precise status and a clear message, and the server keeps serving."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from voxgate.v1 import (
    audio_pb2,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

from tests.conftest import speechlike, wav_bytes
from tests.service.conftest import MAX_AUDIO_SECONDS, MAX_REQUEST_BYTES

pytestmark = pytest.mark.triton
C = grpc.StatusCode
GOOD_WAV = wav_bytes(speechlike(1.0), 16000)


def raw(data: bytes, encoding=audio_pb2.PCM_ENCODING_S16LE, rate=16000, channels=1):
    fmt = audio_pb2.RawAudioFormat(encoding=encoding, sample_rate_hz=rate, channels=channels)
    return tokenizer_pb2.TokenizeRequest(
        audio=audio_pb2.AudioInput(raw=audio_pb2.RawAudio(format=fmt, data=data))
    )


def container(data: bytes):
    return tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(container=data))


def detok(ids=None, text=None, **fmt):
    request = tokenizer_pb2.DetokenizeRequest(output_format=audio_pb2.OutputAudioFormat(**fmt))
    if ids is not None:
        request.interleaved.ids.extend(ids)
    if text is not None:
        request.text = text
    return request


F32_NAN = np.array([0.1, np.nan, 0.2] * 1000, "<f4").tobytes()
F32_INF = np.array([0.1, np.inf, 0.2] * 1000, "<f4").tobytes()
SILENCE = bytes(3200)
ONE_GROUP = [1, 2, 1024, 1025, 1026]

TOKENIZE_CASES = [
    ("no_audio", tokenizer_pb2.TokenizeRequest(), C.INVALID_ARGUMENT, "audio"),
    ("empty_container", container(b""), C.INVALID_ARGUMENT, "empty"),
    ("corrupt_container", container(b"\x00garbage" * 100), C.INVALID_ARGUMENT, "readable"),
    ("truncated_wav", container(GOOD_WAV[:30]), C.INVALID_ARGUMENT, "audio.container"),
    ("wav_header_only", container(GOOD_WAV[:44]), C.INVALID_ARGUMENT, "audio.container"),
    ("unknown_encoding", raw(SILENCE, encoding=0), C.INVALID_ARGUMENT, "encoding"),
    ("encoding_not_in_enum", raw(SILENCE, encoding=99), C.INVALID_ARGUMENT, "encoding"),
    ("rate_too_low", raw(SILENCE, rate=4000), C.INVALID_ARGUMENT, "sample_rate_hz"),
    ("rate_too_high", raw(SILENCE, rate=384000), C.INVALID_ARGUMENT, "sample_rate_hz"),
    ("zero_channels", raw(SILENCE, channels=0), C.INVALID_ARGUMENT, "channels"),
    ("too_many_channels", raw(SILENCE, channels=9), C.INVALID_ARGUMENT, "channels"),
    ("partial_frame", raw(SILENCE + b"\x01"), C.INVALID_ARGUMENT, "frame"),
    ("empty_raw", raw(b""), C.INVALID_ARGUMENT, "empty"),
    ("nan_samples", raw(F32_NAN, encoding=audio_pb2.PCM_ENCODING_F32LE), C.INVALID_ARGUMENT, "NaN"),
    ("inf_samples", raw(F32_INF, encoding=audio_pb2.PCM_ENCODING_F32LE), C.INVALID_ARGUMENT, "NaN"),
    (
        "too_long",
        raw(bytes(2 * 8000 * int(MAX_AUDIO_SECONDS + 5)), rate=8000),
        C.OUT_OF_RANGE,
        "limit",
    ),
    ("oversize_message", raw(bytes(MAX_REQUEST_BYTES + 2)), C.RESOURCE_EXHAUSTED, ""),
]

DETOKENIZE_CASES = [
    ("no_tokens", tokenizer_pb2.DetokenizeRequest(), C.INVALID_ARGUMENT, "tokens"),
    ("empty_ids", detok(ids=[]), C.INVALID_ARGUMENT, "tokens"),
    ("id_5120", detok(ids=[5120, 0, 1024, 1024, 1024]), C.INVALID_ARGUMENT, "5120"),
    ("negative_id", detok(ids=[-1, 0, 1024, 1024, 1024]), C.INVALID_ARGUMENT, "-1"),
    ("partial_group", detok(ids=[*ONE_GROUP, 1, 2]), C.INVALID_ARGUMENT, "whole number"),
    (
        "semantic_in_linguistic_slot",
        detok(ids=[1024, 1, 1024, 1024, 1024]),
        C.INVALID_ARGUMENT,
        "slot",
    ),
    (
        "linguistic_in_semantic_slot",
        detok(ids=[1, 1, 1023, 1024, 1024]),
        C.INVALID_ARGUMENT,
        "slot",
    ),
    ("malformed_text", detok(text="<audio_1><audio_x>"), C.INVALID_ARGUMENT, "text"),
    ("huge_text_id", detok(text="<audio_99999999999999999999>" * 5), C.INVALID_ARGUMENT, "text"),
    ("too_many_tokens", detok(ids=ONE_GROUP * 401), C.OUT_OF_RANGE, "limit"),
    (
        "mp3_output",
        detok(ids=ONE_GROUP, container=audio_pb2.AUDIO_CONTAINER_MP3),
        C.INVALID_ARGUMENT,
        "MP3",
    ),
    (
        "output_rate_too_high",
        detok(ids=ONE_GROUP, sample_rate_hz=500000),
        C.INVALID_ARGUMENT,
        "sample_rate_hz",
    ),
    (
        "flac_float",
        detok(
            ids=ONE_GROUP,
            container=audio_pb2.AUDIO_CONTAINER_FLAC,
            encoding=audio_pb2.PCM_ENCODING_F32LE,
        ),
        C.INVALID_ARGUMENT,
        "FLAC",
    ),
]


async def still_serving(channel) -> None:
    reply = await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(
        container(GOOD_WAV), timeout=30
    )
    assert reply.tokens.group_count == 8


@pytest.mark.parametrize(
    "name,request_,code,words", TOKENIZE_CASES, ids=[c[0] for c in TOKENIZE_CASES]
)
async def test_tokenize_rejects(channel, name, request_, code, words):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(request_, timeout=30)
    assert info.value.code() == code, info.value.details()
    assert words in info.value.details()
    await still_serving(channel)


@pytest.mark.parametrize(
    "name,request_,code,words", DETOKENIZE_CASES, ids=[c[0] for c in DETOKENIZE_CASES]
)
async def test_detokenize_rejects(channel, name, request_, code, words):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Detokenize(request_, timeout=30)
    assert info.value.code() == code, info.value.details()
    assert words in info.value.details()
    await still_serving(channel)


async def test_invalid_argument_carries_a_field_violation(channel):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(
            raw(SILENCE, rate=4000), timeout=30
        )
    status = rpc_status.from_call(info.value)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    assert bad.field_violations[0].field == "audio.raw.format.sample_rate_hz"


def _stream_requests(*messages):
    async def gen():
        for m in messages:
            yield m

    return gen()


CONFIG = tokenizer_pb2.StreamTokenizeRequest(
    config=tokenizer_pb2.StreamTokenizeConfig(
        format=audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV)
    )
)
AUDIO = tokenizer_pb2.StreamTokenizeRequest(audio=GOOD_WAV)

STREAM_CASES = [
    ("audio_before_config", [AUDIO], "config"),
    ("no_messages", [], "config"),
    ("second_config", [CONFIG, AUDIO, CONFIG], "config"),
    (
        "container_unspecified",
        [tokenizer_pb2.StreamTokenizeRequest(config=tokenizer_pb2.StreamTokenizeConfig())],
        "container",
    ),
    (
        "raw_without_format",
        [
            tokenizer_pb2.StreamTokenizeRequest(
                config=tokenizer_pb2.StreamTokenizeConfig(
                    format=audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_RAW)
                )
            )
        ],
        "encoding",
    ),
    ("not_a_wav", [CONFIG, tokenizer_pb2.StreamTokenizeRequest(audio=b"OggS" + bytes(100))], "WAV"),
    (
        "wav_cut_in_header",
        [CONFIG, tokenizer_pb2.StreamTokenizeRequest(audio=GOOD_WAV[:20])],
        "header",
    ),
    (
        "wav_ends_mid_frame",
        [CONFIG, tokenizer_pb2.StreamTokenizeRequest(audio=GOOD_WAV[:1001])],
        "partial frame",
    ),
]


@pytest.mark.parametrize("name,messages,words", STREAM_CASES, ids=[c[0] for c in STREAM_CASES])
async def test_stream_tokenize_rejects(channel, name, messages, words):
    call = tokenizer_pb2_grpc.TokenizerServiceStub(channel).StreamTokenize(
        _stream_requests(*messages), timeout=30
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in call:
            pass
    assert info.value.code() == C.INVALID_ARGUMENT, info.value.details()
    assert words in info.value.details()
    await still_serving(channel)


async def test_unexpected_errors_do_not_leak_details(channel, monkeypatch, server):
    srv, _ = server

    async def boom(*args, **kwargs):
        raise RuntimeError("secret internal path /etc/shadow")

    monkeypatch.setattr(srv.models, "tokenize", boom)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(
            container(GOOD_WAV), timeout=30
        )
    assert info.value.code() == C.INTERNAL
    assert "secret" not in info.value.details()
    assert "request id" in info.value.details()
