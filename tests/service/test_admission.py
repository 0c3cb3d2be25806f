"""Server-wide admission over real gRPC: streams beyond the caps are refused at once with a
retry delay, the admitted ones and unary calls keep working, and slots come back."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from voxgate.server import create_server
from voxgate.v1 import audio_pb2, tokenizer_pb2, tokenizer_pb2_grpc

from tests.conftest import speechlike, wav_bytes

pytestmark = pytest.mark.triton


@pytest.fixture
async def capped(triton, settings):
    server, port = create_server(
        dataclasses.replace(settings, max_streams=3, max_streams_per_connection=2), triton.url
    )
    await server.start()
    await asyncio.wait_for(server.serving.wait(), 60)
    yield f"127.0.0.1:{port}"
    await server.stop(grace=0.5)


class _IdleStream:
    """A StreamTokenize that sent its config and waits (as a live client between words)."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._more: asyncio.Queue = asyncio.Queue()
        self.call = tokenizer_pb2_grpc.TokenizerServiceStub(channel).StreamTokenize(
            self._requests(), timeout=60
        )

    async def _requests(self):
        fmt = audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_WAV)
        yield tokenizer_pb2.StreamTokenizeRequest(
            config=tokenizer_pb2.StreamTokenizeConfig(format=fmt)
        )
        while (piece := await self._more.get()) is not None:
            yield tokenizer_pb2.StreamTokenizeRequest(audio=piece)

    async def refused(self) -> tuple[grpc.aio.AioRpcError, float]:
        start = time.perf_counter()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await self.call.read()
        return err.value, time.perf_counter() - start

    async def finish(self, audio: bytes) -> list[int]:
        await self._more.put(audio)
        await self._more.put(None)
        ids = []
        async for reply in self.call:
            ids.extend(reply.tokens.interleaved)
        return ids


def _retry_delay_s(err: grpc.aio.AioRpcError) -> float:
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    return info.retry_delay.ToNanoseconds() / 1e9
    raise AssertionError("no RetryInfo")


async def _admitted(stream: _IdleStream) -> None:
    """Waits until the server has admitted the stream (its initial metadata came back)."""
    await asyncio.wait_for(stream.call.initial_metadata(), 10)


async def test_streams_over_the_caps_are_refused_fast_and_slots_come_back(capped):
    # (a pool of its own each: channels to one address share connections otherwise)
    own = [("grpc.use_local_subchannel_pool", 1)]
    a, b, c = (grpc.aio.insecure_channel(capped, options=own) for _ in range(3))
    try:
        first, second = _IdleStream(a), _IdleStream(a)
        await asyncio.gather(_admitted(first), _admitted(second))
        per_connection, seconds = await _IdleStream(a).refused()
        assert per_connection.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        said = per_connection.details()
        assert "2 streams open on this connection (the limit is 2; or open another" in said
        assert _retry_delay_s(per_connection) == 1.0 and seconds < 0.5

        third = _IdleStream(b)  # another connection: room for one more stream in the server
        await _admitted(third)
        over, seconds = await _IdleStream(c).refused()
        assert over.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and seconds < 0.5
        assert over.details() == "server busy: 3 streams in progress (the limit is 3); retry later"

        # Unary calls are not streams: still served while the stream cap is full.
        audio = wav_bytes(speechlike(16000, 1.0), 16000)
        unary = await tokenizer_pb2_grpc.TokenizerServiceStub(c).Tokenize(
            tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(container=audio)),
            timeout=30,
        )
        # The admitted streams still work, and a finished one frees its slot.
        assert await first.finish(audio) == list(unary.tokens.interleaved)
        fourth = _IdleStream(c)
        await _admitted(fourth)
        second.call.cancel()
        third.call.cancel()
        assert await fourth.finish(audio) == list(unary.tokens.interleaved)
    finally:
        for channel in (a, b, c):
            await channel.close()
