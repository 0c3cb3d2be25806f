"""Graceful drain over real gRPC: at stop, health turns NOT_SERVING at once, new calls are still
answered for the drain delay (while load balancers notice), then refused, and a stream in
flight finishes inside the grace period. Keepalive and connection-age options reach gRPC."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voxgate.server import connection_options, create_server
from voxgate.v1 import (
    audio_pb2,
    discovery_pb2,
    discovery_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

from tests.conftest import speechlike

pytestmark = pytest.mark.triton
RAW = audio_pb2.StreamAudioFormat(
    container=audio_pb2.AUDIO_CONTAINER_RAW,
    raw=audio_pb2.RawAudioFormat(
        encoding=audio_pb2.PCM_ENCODING_S16LE, sample_rate_hz=16000, channels=1
    ),
)


async def _health(channel) -> int:
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=5
    )
    return reply.status


async def _info(channel) -> grpc.StatusCode:
    try:
        await discovery_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
            discovery_pb2.GetServerInfoRequest(), timeout=5
        )
        return grpc.StatusCode.OK
    except grpc.aio.AioRpcError as err:
        return err.code()


async def test_drain_then_grace_then_stop(triton, settings):
    srv, port = create_server(dataclasses.replace(settings, port=0), triton.url)
    await srv.start()
    await asyncio.wait_for(srv.serving.wait(), 60)
    address = f"127.0.0.1:{port}"
    pcm = (speechlike(2.0) * 32767).astype("<i2").tobytes()
    async with grpc.aio.insecure_channel(address) as channel:
        call = tokenizer_pb2_grpc.TokenizerServiceStub(channel).StreamTokenize(timeout=60)
        await call.write(tokenizer_pb2.StreamTokenizeRequest(config={"format": RAW}))
        await call.write(tokenizer_pb2.StreamTokenizeRequest(audio=pcm[: len(pcm) // 2]))
        await call.read()  # the stream is in flight

        stopping = asyncio.create_task(srv.stop(grace=10.0, drain_delay=1.5))
        await asyncio.sleep(0.3)
        assert await _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
        async with grpc.aio.insecure_channel(address) as fresh:  # a new client, mid-drain
            assert await _info(fresh) == grpc.StatusCode.OK
        await asyncio.sleep(1.6)  # the drain delay is over: no new calls
        async with grpc.aio.insecure_channel(address) as late:
            assert await _info(late) == grpc.StatusCode.UNAVAILABLE
        # ...but the stream in flight goes on and ends normally within the grace.
        await call.write(tokenizer_pb2.StreamTokenizeRequest(audio=pcm[len(pcm) // 2 :]))
        await call.done_writing()
        rest = []
        while (r := await call.read()) is not grpc.aio.EOF:
            rest.append(r)
        assert rest[-1].final and await call.code() == grpc.StatusCode.OK
        await asyncio.wait_for(stopping, 15)


def test_connection_options(settings):
    opts = dict(connection_options(settings))
    assert opts["grpc.keepalive_time_ms"] == 60_000 and "grpc.max_connection_age_ms" not in opts
    aged = dict(connection_options(dataclasses.replace(settings, max_connection_age_s=300)))
    assert aged["grpc.max_connection_age_ms"] == 300_000
    assert aged["grpc.max_connection_age_grace_ms"] == 30_000


async def test_the_client_waits_for_a_server_that_is_not_up_yet(triton, settings, tmp_path):
    """The published service config (wait-for-ready): a call made before the server listens
    is answered once it does, instead of failing UNAVAILABLE."""
    from voxgate.client import VoxgateClient
    from voxgate.runtime import free_port

    port = free_port()
    client = VoxgateClient(f"127.0.0.1:{port}", timeout_s=30)
    pending = asyncio.create_task(asyncio.to_thread(client.server_info))
    await asyncio.sleep(1.0)
    assert not pending.done()
    srv, _ = create_server(dataclasses.replace(settings, port=port), triton.url)
    await srv.start()
    try:
        info = await asyncio.wait_for(pending, 30)
        assert info.request_id
    finally:
        client.close()
        await srv.stop(grace=1.0)
