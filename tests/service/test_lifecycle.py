"""Reflection, cancellation without leaks, deadlines, discovery, and Triton going away."""

from __future__ import annotations

import asyncio
import os
import signal

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from prometheus_client import REGISTRY
from voxgate.triton import TritonModels
from voxgate.v1 import (
    audio_pb2,
    discovery_pb2,
    discovery_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

from tests.conftest import speechlike, wav_bytes

pytestmark = pytest.mark.triton


async def test_reflection_alone_is_enough_to_call_tokenize(server):
    """A client with no generated code: descriptors from reflection, dynamic messages."""
    # A blocking client, so it runs in a thread beside the server's event loop.
    reply = await asyncio.to_thread(_call_tokenize_by_reflection, server[1])
    assert reply.tokens.group_count == 10
    assert len(reply.tokens.interleaved) == 50


def _call_tokenize_by_reflection(address: str):
    with grpc.insecure_channel(address) as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        assert "voxgate.v1.TokenizerService" in db.get_services()
        pool = descriptor_pool.DescriptorPool(db)
        method = pool.FindServiceByName("voxgate.v1.TokenizerService").FindMethodByName("Tokenize")
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        request = request_cls()
        request.audio.container = wav_bytes(speechlike(1.2), 16000)
        call = channel.unary_unary(
            "/voxgate.v1.TokenizerService/Tokenize",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,
        )
        return call(request, timeout=30)


async def test_server_info(channel):
    info = await discovery_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
        discovery_pb2.GetServerInfoRequest(), timeout=10
    )
    spec = info.token_spec
    assert spec.vocabulary_size == 5120 and spec.group_pattern == "llsss"
    assert [(s.name, s.codebook_size, s.id_offset) for s in spec.streams] == [
        ("linguistic", 1024, 0),
        ("semantic", 4096, 1024),
    ]
    assert spec.output_sample_rate_hz >= 16000
    assert all(m.ready for m in info.models)
    assert {m.name for m in info.models} >= {"tokenize", "detokenize", "vocoder"}
    assert "voxgate.v1.TokenizerService" in info.implemented_services
    limits = info.limits
    assert limits.max_audio_seconds == 40.0
    # The admission caps of the session's settings (tests/service/conftest.py), as enforced.
    assert (limits.max_calls, limits.max_streams, limits.max_streams_per_connection) == (64, 64, 32)
    assert limits.max_stream_lag_seconds == 5.0 and limits.stream_write_timeout_seconds == 30.0


def _active_streams() -> float:
    return REGISTRY.get_sample_value("voxgate_active_token_streams") or 0.0


async def _inferences(triton_url: str) -> int:
    models = TritonModels(triton_url, 10)
    try:
        stats = await models._client.get_inference_statistics("tokenize", as_json=True)
    finally:
        await models.close()
    return int(stats["model_stats"][0].get("inference_count", 0))


async def test_cancelled_stream_leaves_no_work_running(channel, triton):
    data = wav_bytes(speechlike(20.0, seed=29), 16000)
    sent = asyncio.Event()

    async def requests():
        yield tokenizer_pb2.StreamTokenizeRequest(
            config=tokenizer_pb2.StreamTokenizeConfig(
                format=audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV)
            )
        )
        for i in range(0, len(data), 3200):
            yield tokenizer_pb2.StreamTokenizeRequest(audio=data[i : i + 3200])
            await asyncio.sleep(0.005)
        sent.set()

    call = tokenizer_pb2_grpc.TokenizerServiceStub(channel).StreamTokenize(requests(), timeout=60)
    got = 0
    async for _ in call:
        got += 1
        if got == 3:
            assert _active_streams() == 1
            call.cancel()
            break
    assert not sent.is_set()
    for _ in range(50):
        if _active_streams() == 0:
            break
        await asyncio.sleep(0.1)
    assert _active_streams() == 0, "the stream handler is still running after cancel"
    before = await _inferences(triton.url)
    await asyncio.sleep(1.0)
    assert await _inferences(triton.url) == before, "Triton still receives work for it"


async def test_deadline_exceeded_then_still_serving(channel):
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
    long = tokenizer_pb2.TokenizeRequest(
        audio=audio_pb2.AudioInput(container=wav_bytes(speechlike(35.0, seed=31), 16000))
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Tokenize(long, timeout=0.05)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    short = tokenizer_pb2.TokenizeRequest(
        audio=audio_pb2.AudioInput(container=wav_bytes(speechlike(1.0), 16000))
    )
    assert (await stub.Tokenize(short, timeout=30)).tokens.group_count == 8


async def _health(channel) -> int:
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="voxgate.v1.TokenizerService"), timeout=5
    )
    return reply.status


@pytest.mark.slow
async def test_zz_triton_dies_health_follows_and_it_is_restarted(channel, triton):
    """Runs last in this module: kills the embedded Triton; the supervisor brings it back."""
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
    request = tokenizer_pb2.TokenizeRequest(
        audio=audio_pb2.AudioInput(container=wav_bytes(speechlike(1.0), 16000))
    )
    restarts = triton.restarts
    os.kill(triton.pid, signal.SIGKILL)
    for _ in range(100):
        if await _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING:
            break
        await asyncio.sleep(0.05)
    assert await _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Tokenize(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    for _ in range(240):
        if await _health(channel) == health_pb2.HealthCheckResponse.SERVING:
            break
        await asyncio.sleep(0.5)
    assert await _health(channel) == health_pb2.HealthCheckResponse.SERVING
    assert triton.restarts == restarts + 1
    assert (await stub.Tokenize(request, timeout=30)).tokens.group_count == 8


async def test_many_cancelled_streams_do_not_crash_the_server(channel):
    """Regression: reading the peer of a cancelled call crashed grpcio (segfault) after ~8."""
    data = wav_bytes(speechlike(1.0, seed=37), 16000)
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)

    async def requests():
        yield tokenizer_pb2.StreamTokenizeRequest(
            config=tokenizer_pb2.StreamTokenizeConfig(
                format=audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV)
            )
        )
        for i in range(0, len(data), 4096):
            yield tokenizer_pb2.StreamTokenizeRequest(audio=data[i : i + 4096])

    for _ in range(30):
        call = stub.StreamTokenize(requests(), timeout=30)
        async for reply in call:
            if reply.final:
                call.cancel()
                break
    short = tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(container=data))
    assert (await stub.Tokenize(short, timeout=30)).tokens.group_count == 8
