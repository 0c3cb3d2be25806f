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
from voxgate.servicers import synthesis as synthesis_servicer
from voxgate.v1 import (
    audio_pb2,
    synthesis_pb2,
    synthesis_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

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

    def __init__(self, channel: grpc.aio.Channel, silent: bool = False) -> None:
        """`silent`: sends nothing until it has audio to send (a refused call's status then
        never races a message the client is still sending, which grpc.aio reports as INTERNAL
        "Internal error from Core", grpc/grpc#36066)."""
        self._more: asyncio.Queue = asyncio.Queue()
        self._silent = silent
        self.call = tokenizer_pb2_grpc.TokenizerServiceStub(channel).StreamTokenize(
            self._requests(), timeout=60
        )

    async def _requests(self):
        if self._silent:
            await self._more.put(await self._more.get())  # wait for audio, keep it queued
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
        per_connection, seconds = await _IdleStream(a, silent=True).refused()
        assert per_connection.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        said = per_connection.details()
        assert "2 streams open on this connection (the limit is 2; or open another" in said
        assert _retry_delay_s(per_connection) == 1.0 and seconds < 0.5

        third = _IdleStream(b)  # another connection: room for one more stream in the server
        await _admitted(third)
        over, seconds = await _IdleStream(c, silent=True).refused()
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


@pytest.fixture
async def strict(triton, settings):
    """A server that ends streaming calls whose client reads nothing for 1 s, and live streams
    more than 1 ms behind real time (so that any stream that does work falls behind)."""
    server, port = create_server(
        dataclasses.replace(
            settings, max_streams=1, stream_write_timeout_s=1.0, max_stream_lag_s=0.001
        ),
        triton.url,
    )
    await server.start()
    await asyncio.wait_for(server.serving.wait(), 60)
    yield f"127.0.0.1:{port}"
    await server.stop(grace=0.5)


async def test_a_client_that_never_reads_stops_costing_work_and_gets_the_status_when_it_reads(
    strict,
):
    # No BDP probing: the client's receive window stays at 64 KiB, about 1 s of F32 audio.
    channel = grpc.aio.insecure_channel(strict, options=[("grpc.http2.bdp_probe", 0)])
    other = grpc.aio.insecure_channel(strict, options=[("grpc.use_local_subchannel_pool", 1)])
    try:
        f32 = audio_pb2.OutputAudioFormat(
            container=audio_pb2.AUDIO_CONTAINER_RAW, encoding=audio_pb2.PCM_ENCODING_F32LE
        )
        text = "The quick brown fox jumps over the lazy dog near the river bank. " * 8
        call = synthesis_pb2_grpc.SynthesisServiceStub(channel).Synthesize(
            synthesis_pb2.SynthesizeRequest(text=text, output_format=f32), timeout=120
        )
        await asyncio.wait_for(call.initial_metadata(), 10)
        # Once its writes stall for 1 s, the synthesis stops (its handler is closed)...
        start = time.perf_counter()
        while synthesis_servicer.ACTIVE._value.get() > 0:
            assert time.perf_counter() - start < 30, "the stalled synthesis went on"
            await asyncio.sleep(0.1)
        # ...while the call, its status queued behind what gRPC buffered, keeps its slot.
        refused, _ = await _IdleStream(other, silent=True).refused()
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # What was buffered still arrives, then the status that says why.
        received = 0
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for reply in call:
                received += len(reply.audio.data)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "none taken by the client for 1 s" in err.value.details()
        assert 0 < received < 16000 * 4 * 4  # about the window's worth, far from all of it
        # Read, the call is over and its slot free.
        taker = _IdleStream(other)
        await _admitted(taker)
        taker.call.cancel()
    finally:
        await channel.close()
        await other.close()


async def test_a_live_stream_behind_real_time_is_ended_with_a_retry_delay(strict):
    async with grpc.aio.insecure_channel(strict) as channel:
        stream = _IdleStream(channel)
        await _admitted(stream)
        await stream._more.put(wav_bytes(speechlike(16000, 2.0), 16000))
        tokens = 0
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for reply in stream.call:
                tokens += len(reply.tokens.interleaved)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "behind real time (the limit is 0.001 s)" in err.value.details()
        assert _retry_delay_s(err.value) == 1.0
        assert tokens > 0  # the groups it did tokenize came first
