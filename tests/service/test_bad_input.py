"""Bad input gets a precise status and a clear message, and the server keeps serving."""

from __future__ import annotations

import asyncio
import re
import socket
import time
import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from voxgate.launcher import async_local_server
from voxgate.v1 import (
    audio_pb2,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

from tests.conftest import speechlike, wav_bytes
from tests.hostile import f32_with, flac_header, float_wav_with, silent_flac, with_flac_total
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
# An hour of silence in ~50 KB: its header declares far more than the limit.
FLAC_HOUR = silent_flac(8000, 1, 3600)
# Longer than the limit, its length unknown to the header (a streamed FLAC).
FLAC_LONG_UNDECLARED = with_flac_total(silent_flac(8000, 1, MAX_AUDIO_SECONDS + 20), 0)
# Half a second of 8 channels at 192 kHz whose header claims 2^36 - 1 samples (4 days).
FLAC_ABSURD = with_flac_total(silent_flac(192000, 8, 0.5), (1 << 36) - 1)
FLAC_SPEECH = wav_bytes(speechlike(2.0), 16000, fmt="FLAC")
# What libsndfile says in its own words; none of it may reach a client.
LIBSNDFILE_WORDING = ("Error opening", "libsndfile", "<_io", "malformed", "Format not recog")

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
    ("flac_declares_an_hour", container(FLAC_HOUR), C.OUT_OF_RANGE, "header declares 3600.0 s"),
    ("flac_declares_4_days", container(FLAC_ABSURD), C.OUT_OF_RANGE, "header declares"),
    ("flac_undeclared_too_long", container(FLAC_LONG_UNDECLARED), C.OUT_OF_RANGE, "at least"),
    (
        "raw_too_long_refused_by_size",
        raw(bytes(8000 * int(MAX_AUDIO_SECONDS + 1)), audio_pb2.PCM_ENCODING_MULAW, rate=8000),
        C.OUT_OF_RANGE,
        "limit",
    ),
    (
        "flac_cut_in_half",
        container(FLAC_SPEECH[: len(FLAC_SPEECH) // 2]),
        C.INVALID_ARGUMENT,
        "corrupt",
    ),
    ("ogg_junk", container(b"OggS" + bytes(300)), C.INVALID_ARGUMENT, "not a readable"),
    (
        "wav_nan_float",
        container(float_wav_with(float("nan"))),
        C.INVALID_ARGUMENT,
        "NaN",
    ),
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
    assert not any(w in info.value.details() for w in LIBSNDFILE_WORDING), info.value.details()
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


def _stream_status(address: str, messages, timeout: float = 60):
    """StreamTokenize with the blocking client; (code, details, replies).

    grpc.aio's client reports INTERNAL "Internal error from Core" instead of the status the
    server sent when the server ends a stream while the client is still writing to it
    (grpc/grpc#36066); the blocking client reports the server's status.
    """
    options = [("grpc.max_send_message_length", 64 << 20)]
    with grpc.insecure_channel(address, options=options) as ch:
        stub = tokenizer_pb2_grpc.TokenizerServiceStub(ch)
        try:
            replies = list(stub.StreamTokenize(iter(messages), timeout=timeout))
        except grpc.RpcError as err:
            return err.code(), err.details(), []
    return C.OK, "", replies


async def stream_status(address: str, messages, timeout: float = 60):
    return await asyncio.to_thread(_stream_status, address, messages, timeout)


CONFIG = tokenizer_pb2.StreamTokenizeRequest(
    config=tokenizer_pb2.StreamTokenizeConfig(
        format=audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV)
    )
)
AUDIO = tokenizer_pb2.StreamTokenizeRequest(audio=GOOD_WAV)


def stream_config(container: int) -> tokenizer_pb2.StreamTokenizeRequest:
    return tokenizer_pb2.StreamTokenizeRequest(
        config=tokenizer_pb2.StreamTokenizeConfig(
            format=audio_pb2.StreamAudioFormat(container=container)
        )
    )


def audio_msg(data: bytes) -> tokenizer_pb2.StreamTokenizeRequest:
    return tokenizer_pb2.StreamTokenizeRequest(audio=data)


FLAC_CONFIG = stream_config(audio_pb2.AUDIO_CONTAINER_FLAC)

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
    (
        "wav_chunk_before_data_declares_2_gb",
        [
            CONFIG,
            tokenizer_pb2.StreamTokenizeRequest(
                audio=GOOD_WAV[:36] + b"LIST" + (0x7FFFFFF0).to_bytes(4, "little") + bytes(64)
            ),
        ],
        "before the data",
    ),
    ("flac_stream_of_other_bytes", [FLAC_CONFIG, audio_msg(GOOD_WAV)], "not FLAC"),
    ("flac_stream_unreadable", [FLAC_CONFIG, audio_msg(b"fLaC" + bytes(5000))], "not a readable"),
    ("flac_stream_empty", [FLAC_CONFIG], "no audio"),
]


@pytest.mark.parametrize("name,messages,words", STREAM_CASES, ids=[c[0] for c in STREAM_CASES])
async def test_stream_tokenize_rejects(server, channel, name, messages, words):
    code, details, _ = await stream_status(server[1], messages, timeout=30)
    assert code == C.INVALID_ARGUMENT, details
    assert words in details
    assert not any(w in details for w in LIBSNDFILE_WORDING), details
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


# --- hostile input (issue 11): sizes from headers, held bytes, sample range -----------------


def flood(head: bytes, mib: int) -> list[tokenizer_pb2.StreamTokenizeRequest]:
    """A FLAC stream's start, then `mib` MiB more in 1 MiB messages."""
    return [FLAC_CONFIG, audio_msg(head)] + [audio_msg(bytes(1 << 20))] * mib


STREAM_OUT_OF_RANGE = [
    ("flac_stream_declares_an_hour", [FLAC_CONFIG, audio_msg(FLAC_HOUR)], "declares 3600.0 s"),
    (
        "flac_stream_past_what_it_may_hold",  # the session server's request limit: 4 MiB
        flood(flac_header(), 6),
        f"may hold at most {MAX_REQUEST_BYTES >> 20} MiB",
    ),
    (
        "flac_stream_undeclared_too_long",
        [FLAC_CONFIG, audio_msg(FLAC_LONG_UNDECLARED)],
        "at least",
    ),
]


@pytest.mark.parametrize(
    "name,messages,words", STREAM_OUT_OF_RANGE, ids=[c[0] for c in STREAM_OUT_OF_RANGE]
)
async def test_stream_tokenize_out_of_range(server, channel, name, messages, words):
    code, details, _ = await stream_status(server[1], messages)
    assert code == C.OUT_OF_RANGE, details
    assert words in details
    await still_serving(channel)


async def test_flac_stream_equals_tokenize(channel):
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
    flac = wav_bytes(speechlike(2.0, rate=22050, seed=3), 22050, fmt="FLAC")
    whole = await stub.Tokenize(container(flac), timeout=30)
    pieces = [audio_msg(flac[i : i + 3000]) for i in range(0, len(flac), 3000)]
    replies = [r async for r in stub.StreamTokenize(_stream_requests(FLAC_CONFIG, *pieces))]
    assert replies[-1].final
    streamed = [i for r in replies for i in r.tokens.interleaved]
    assert streamed == list(whole.tokens.interleaved) and len(streamed) == 5 * 16


@pytest.mark.parametrize("value", [1.5, 1e19, 1e30, -3.4e38])
async def test_finite_samples_past_full_scale_are_clipped(channel, value):
    """Such a sample overflowed the tokenizer's power spectrum (an id of -9.2e18: INTERNAL);
    it is clipped to full scale, so the tokens are those of the clipped audio."""
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
    f32 = audio_pb2.PCM_ENCODING_F32LE
    got = await stub.Tokenize(raw(f32_with(value), encoding=f32), timeout=30)
    clipped = await stub.Tokenize(raw(f32_with(np.sign(value)), encoding=f32), timeout=30)
    assert list(got.tokens.interleaved) == list(clipped.tokens.interleaved)
    assert got.tokens.group_count == 8
    in_wav = await stub.Tokenize(container(float_wav_with(value)), timeout=30)
    assert list(in_wav.tokens.interleaved) == list(clipped.tokens.interleaved)


# --- limits that need their own server: response size, the decoded-audio budget, memory ----
#
# A `voxgate serve` child process (sharing the session's Triton), so that its memory is its
# own: VmRSS and the peak VmHWM (reset through /proc/PID/clear_refs before each call) of the
# façade process, not of this test process (which also holds the client's requests).

TIGHT_RESPONSE_BYTES = 4 << 20
TIGHT_REQUEST_BYTES = 16 << 20
TIGHT_BUDGET_BYTES = 16 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
async def tight(triton):
    """A server with the default 600 s limit and small byte limits; yields (server, stub,
    metrics URL)."""
    metrics = free_port()
    # the session's Triton may require its per-run secret header of every client
    secret = [f"--triton-header={k}={v}" for k, v in getattr(triton, "headers", {}).items()]
    args = (
        *("--triton-url", triton.url, *secret, "--log-level", "warning"),
        *("--metrics-port", str(metrics)),
        *("--max-request-bytes", str(TIGHT_REQUEST_BYTES)),
        *("--max-response-bytes", str(TIGHT_RESPONSE_BYTES)),
        *("--max-decoded-audio-bytes", str(TIGHT_BUDGET_BYTES)),
    )
    async with async_local_server(*args, start_timeout_s=120) as srv:
        channel = grpc.aio.insecure_channel(
            srv.address, options=[("grpc.max_send_message_length", 64 << 20)]
        )
        yield srv, tokenizer_pb2_grpc.TokenizerServiceStub(channel), metrics
        await channel.close()


def proc_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


async def decoded_audio_bytes(metrics_port: int) -> float:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())
    return float(re.search(r"^voxgate_decoded_audio_bytes (\S+)$", text, re.M).group(1))


async def wait_decoded_audio(metrics_port: int, done, what: str) -> float:
    for _ in range(200):
        held = await decoded_audio_bytes(metrics_port)
        if done(held):
            return held
        await asyncio.sleep(0.05)
    pytest.fail(f"the server's decoded audio never {what} (last {held:.0f} bytes)")


async def test_detokenize_output_over_the_response_limit_refused_at_once(tight):
    srv, stub, _ = tight
    # 48 s of tokens as 48 kHz S32: 9.2 MB, over the 4 MiB a response may carry
    request = detok(
        ids=ONE_GROUP * 400, sample_rate_hz=48000, encoding=audio_pb2.PCM_ENCODING_S32LE
    )
    before = proc_kib(srv.pid, "VmRSS")
    Path(f"/proc/{srv.pid}/clear_refs").write_text("5")
    start = time.perf_counter()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Detokenize(request, timeout=60)
    seconds = time.perf_counter() - start
    assert info.value.code() == C.OUT_OF_RANGE, info.value.details()
    assert "48000 Hz S32LE WAV" in info.value.details()
    assert "4.0 MiB a response may carry" in info.value.details()
    # refused before decoding: no model call, no audio (rendering it takes ~25 MB, seconds)
    assert seconds < 1.0
    assert proc_kib(srv.pid, "VmHWM") - before < 8 * 1024
    # what fits is rendered: the same tokens at 16 kHz S16 are 1.5 MB
    ok = await stub.Detokenize(detok(ids=ONE_GROUP * 400, sample_rate_hz=16000), timeout=60)
    assert abs(ok.audio.duration_seconds - 48.0) < 0.01


async def test_decoded_audio_budget_refuses_with_retry_info(tight):
    _, stub, metrics = tight
    speech = container(wav_bytes(speechlike(20.0), 16000))  # 1.3 MB at 16 kHz, plus a block
    # A FLAC stream holds 15 MiB of the 16 MiB budget until it ends.
    held = asyncio.Queue()
    for message in flood(flac_header(), 15):
        held.put_nowait(message)

    async def requests():
        while (message := await held.get()) is not None:
            yield message

    call = stub.StreamTokenize(requests(), timeout=120)
    await wait_decoded_audio(metrics, lambda n: n >= 15 << 20, "reached 15 MiB")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Tokenize(speech, timeout=30)
    assert info.value.code() == C.RESOURCE_EXHAUSTED, info.value.details()
    assert "retry later" in info.value.details() and "16.0 MiB" in info.value.details()
    status = rpc_status.from_call(info.value)
    retry = error_details_pb2.RetryInfo()
    assert status is not None and status.details[0].Unpack(retry)
    assert retry.retry_delay.ToMilliseconds() == 1000
    # the stream's end (here: the client cancels it) gives its share back
    call.cancel()
    await wait_decoded_audio(metrics, lambda n: n == 0, "went back to 0")
    reply = await stub.Tokenize(speech, timeout=60)
    assert reply.tokens.group_count == 166
    assert await decoded_audio_bytes(metrics) == 0


async def test_one_request_over_the_whole_budget_is_out_of_range(tight):
    _, stub, metrics = tight
    # 300 s of 16 kHz audio decode to 19 MB: more than the 16 MiB budget even when idle
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Tokenize(container(silent_flac(16000, 1, 300)), timeout=60)
    assert info.value.code() == C.OUT_OF_RANGE, info.value.details()
    assert "more than the server's 16.0 MiB budget" in info.value.details()
    assert await decoded_audio_bytes(metrics) == 0


# Hostile requests that decoded or rendered hundreds of MB before (bench/results/memory.md):
# (name, call, expected code, peak RSS growth allowed in MB). Refusals from a header take
# nothing (8 MB); decoding cases hold their 16 kHz audio (within the 16 MiB budget), the
# copies of it sent to Triton, gRPC's buffers and the allocator's slack (measured: 39 MB for
# 120 s of 8 x 192 kHz FLAC, 42 MB for the 256 MiB flood); before, these grew the server by
# 380 to 1500 MB or ended INTERNAL (bench/results/memory.md).
def _hostile_cases():
    f32 = audio_pb2.PCM_ENCODING_F32LE
    return [
        ("flac_8ch_192k_120s", container(silent_flac(192000, 8, 120)), C.OK, 72),
        ("flac_declares_an_hour", container(silent_flac(22050, 1, 3600)), C.OUT_OF_RANGE, 8),
        ("flac_hour_undeclared", container(with_flac_total(FLAC_HOUR, 0)), C.OUT_OF_RANGE, 72),
        ("flac_declares_4_days", container(FLAC_ABSURD), C.OUT_OF_RANGE, 8),
        ("stream_flac_256_mib", flood(flac_header(), 256), C.OUT_OF_RANGE, 80),
        (
            "detokenize_600s_192k_s32",
            detok(
                ids=ONE_GROUP * 5000, sample_rate_hz=192000, encoding=audio_pb2.PCM_ENCODING_S32LE
            ),
            C.OUT_OF_RANGE,
            8,
        ),
        ("f32_sample_1e30", raw(f32_with(1e30), encoding=f32), C.OK, 8),
    ]


async def test_hostile_inputs_keep_server_memory_bounded(tight):
    srv, stub, metrics = tight
    start_rss = proc_kib(srv.pid, "VmRSS")
    report = []
    for name, request, code, margin_mb in _hostile_cases():
        await asyncio.sleep(0.5)
        before = proc_kib(srv.pid, "VmRSS")
        Path(f"/proc/{srv.pid}/clear_refs").write_text("5")  # resets VmHWM to VmRSS
        try:
            if isinstance(request, list):
                got = (await stream_status(srv.address, request, timeout=120))[0]
            elif isinstance(request, tokenizer_pb2.DetokenizeRequest):
                await stub.Detokenize(request, timeout=120)
                got = C.OK
            else:
                await stub.Tokenize(request, timeout=120)
                got = C.OK
        except grpc.aio.AioRpcError as err:
            got = err.code()
        growth_mb = (proc_kib(srv.pid, "VmHWM") - before) / 1024
        report.append(f"{name}: {got.name}, peak +{growth_mb:.0f} MB (margin {margin_mb})")
        assert got == code, report
        assert growth_mb < margin_mb, report
        assert await decoded_audio_bytes(metrics) == 0, report
    print("\n".join(report))  # shown with -s
    await asyncio.sleep(0.5)
    held_mb = (proc_kib(srv.pid, "VmRSS") - start_rss) / 1024
    assert held_mb < 64, (held_mb, report)  # nothing kept once the calls are over
    reply = await stub.Tokenize(container(GOOD_WAV), timeout=30)
    assert reply.tokens.group_count == 8
