"""The registry over real gRPC and a real Triton: per-service health, UNIMPLEMENTED for a
service whose models the deployment lacks, discovery from Triton's index, garbage protobuf."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voxgate.core.decoding import DecodeStream
from voxgate.registry import ServiceEntry
from voxgate.server import create_server
from voxgate.servicers import discovery, tokenizer
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
H = health_pb2.HealthCheckResponse
TOKENIZER, SYNTHESIS, CHAT, DISCOVERY = (
    "voxgate.v1.TokenizerService",
    "voxgate.v1.SynthesisService",
    "voxgate.v1.ChatService",
    "voxgate.v1.DiscoveryService",
)


async def _health(channel, service: str) -> int:
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=service), timeout=5
    )
    return reply.status


async def test_per_service_health_follows_the_deployment(channel):
    assert await _health(channel, TOKENIZER) == H.SERVING
    assert await _health(channel, DISCOVERY) == H.SERVING
    assert await _health(channel, SYNTHESIS) == H.SERVING
    assert await _health(channel, CHAT) == H.SERVING
    assert await _health(channel, "") == H.SERVING  # covers the services this deployment has


async def test_server_info_lists_what_triton_loaded(channel):
    info = await discovery_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
        discovery_pb2.GetServerInfoRequest(), timeout=10
    )
    assert list(info.implemented_services) == [TOKENIZER, SYNTHESIS, CHAT, DISCOVERY]
    models = {m.name: m for m in info.models}
    assert {"tokenize", "detokenize", "vocoder", "stream_probe"} <= set(models)
    assert models["vocoder"].role == "vocoder" and models["tokenize"].role == "ensemble"
    assert models["stream_probe"].role == "" and models["stream_probe"].ready
    assert models["tokenize"].backend == "ensemble"


async def test_the_registry_alone_decides_what_a_server_serves(triton, settings):
    """A server built from a different registry: its health and UNIMPLEMENTED answers follow
    that registry's declarations, with nothing else changed."""
    needs_missing = dataclasses.replace(tokenizer.SERVICE, models=("tokenize", "not_deployed"))
    needs_probe = dataclasses.replace(discovery.SERVICE, models=("stream_probe",))
    services: tuple[ServiceEntry, ...] = (needs_missing, needs_probe)
    srv, port = create_server(settings, triton.url, services=services)
    await srv.start()
    try:
        await asyncio.wait_for(srv.serving.wait(), 30)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
            assert await _health(ch, TOKENIZER) == H.NOT_SERVING
            assert await _health(ch, DISCOVERY) == H.SERVING
            assert await _health(ch, "") == H.SERVING
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await tokenizer_pb2_grpc.TokenizerServiceStub(ch).Tokenize(
                    tokenizer_pb2.TokenizeRequest(), timeout=10
                )
            assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
            assert "not_deployed" in info.value.details()
            assert dict(info.value.trailing_metadata())["x-request-id"]
            info2 = await discovery_pb2_grpc.DiscoveryServiceStub(ch).GetServerInfo(
                discovery_pb2.GetServerInfoRequest(), timeout=10
            )
            assert list(info2.implemented_services) == [DISCOVERY]
            with pytest.raises(grpc.aio.AioRpcError) as info:  # not registered at all
                await health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(service=CHAT), timeout=5
                )
            assert info.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await srv.stop(grace=1.0)


async def test_garbage_bytes_are_invalid_argument_on_the_real_services(channel, server):
    ident = {"request_serializer": lambda b: b, "response_deserializer": lambda b: b}
    garbage = b"\x0a\xff\xff\xff\xff"  # field 1, length-delimited, with an impossible length
    unary = channel.unary_unary("/voxgate.v1.TokenizerService/Tokenize", **ident)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await unary(garbage, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid protobuf Tokenize request" in info.value.details()

    def bidi_blocking(address: str) -> grpc.StatusCode:
        with grpc.insecure_channel(address) as ch:
            bidi = ch.stream_stream("/voxgate.v1.TokenizerService/StreamTokenize", **ident)
            with pytest.raises(grpc.RpcError) as info:
                list(bidi(iter([garbage]), timeout=10))
            return info.value.code()

    assert await asyncio.to_thread(bidi_blocking, server[1]) == grpc.StatusCode.INVALID_ARGUMENT
    # ... and the server keeps serving.
    ok = await tokenizer_pb2_grpc.TokenizerServiceStub(channel).Tokenize(
        tokenizer_pb2.TokenizeRequest(
            audio=audio_pb2.AudioInput(container=wav_bytes(speechlike(1.0), 16000))
        ),
        timeout=30,
    )
    assert ok.tokens.group_count == 8


async def test_streaming_decode_equals_detokenize(channel, triton):
    """Groups pushed one at a time through the streaming decode pipeline (real Triton)
    give the audio of a whole Detokenize within the decoder's tolerance."""
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
    tokens = (
        await stub.Tokenize(
            tokenizer_pb2.TokenizeRequest(
                audio=audio_pb2.AudioInput(container=wav_bytes(speechlike(4.0, seed=41), 16000))
            ),
            timeout=30,
        )
    ).tokens
    ids = np.asarray(tokens.interleaved, np.int64)
    whole = await stub.Detokenize(
        tokenizer_pb2.DetokenizeRequest(
            interleaved=tokenizer_pb2.InterleavedTokens(ids=ids.tolist()),
            output_format=audio_pb2.OutputAudioFormat(
                container=audio_pb2.AUDIO_CONTAINER_RAW, encoding=audio_pb2.PCM_ENCODING_F32LE
            ),
        ),
        timeout=60,
    )
    expected = np.frombuffer(whole.audio.data, np.float32)
    models = TritonModels(triton.url, 30.0)
    try:
        stream = DecodeStream(models, chunk_groups=250)
        pieces = [await stream.push(ids[g * 5 : (g + 1) * 5]) for g in range(len(ids) // 5)]
        pieces.append(await stream.finish())
    finally:
        await models.close()
    assert sum(len(p) > 0 for p in pieces) >= len(pieces) - 3  # audio flows group by group
    got = np.concatenate(pieces)
    assert len(got) == len(expected)
    snr = 10 * np.log10(np.sum(expected**2) / max(np.sum((expected - got) ** 2), 1e-12))
    assert snr > 30, f"streamed decode differs from Detokenize: SNR {snr:.1f} dB"
