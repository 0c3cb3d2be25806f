"""Live StreamTokenize through the stateful stream_tokenizer (real gRPC, real Triton): the ids
equal Tokenize's, the tokenize ensemble is not called for them, and a client that goes away
has its stream's state freed in Triton."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest
from voxgate.v1 import tokenizer_pb2

from tests.conftest import speechlike, wav_bytes
from tests.service.conftest import triton_metrics
from tests.service.test_tokenizer_service import WAV, cut, joined, stream, stub, tokenize

pytestmark = pytest.mark.triton

ACTIVE = "voxgate_stream_tokenizer_active_sequences"
FREED_END = 'voxgate_stream_tokenizer_sequences_freed_total{reason="end"}'


async def inference_counts(triton, *models: str) -> dict[str, int]:
    """Triton's successful inference count per model (Triton's own Prometheus metrics)."""
    got = await triton_metrics(triton.metrics_url, "nv_inference_request_")
    return {
        m: int(v)
        for k, v in got.items()
        for m in models
        if k.startswith("nv_inference_request_success{") and f'model="{m}"' in k
    }


async def test_live_streams_run_on_the_stream_tokenizer_and_equal_tokenize(channel, triton):
    rng = np.random.default_rng(3)
    clips = [wav_bytes(speechlike(float(rng.uniform(0.3, 3.0)), seed=s), 16000) for s in range(6)]
    unary = [(await tokenize(channel, c)).tokens for c in clips]
    before = await inference_counts(triton, "stream_tokenizer", "tokenize")
    sizes = [[1000], [3841], [7, 20000, 64], [640], [100000], [1921, 3]]
    replies = await asyncio.gather(
        *(stream(channel, cut(c, s), WAV) for c, s in zip(clips, sizes, strict=True))
    )
    after = await inference_counts(triton, "stream_tokenizer", "tokenize")
    for got, want in zip(replies, unary, strict=True):
        assert joined(got) == list(want.interleaved)
        assert got[-1].final
    assert after["tokenize"] == before["tokenize"]  # no context windows re-sent
    assert after["stream_tokenizer"] - before["stream_tokenizer"] >= len(clips)


async def test_a_client_that_goes_away_has_its_state_freed(channel, triton):
    before = await triton_metrics(triton.metrics_url, "voxgate_stream_tokenizer_")
    data = wav_bytes(speechlike(3.0, seed=9), 16000)
    gone = asyncio.Event()

    async def requests():
        yield tokenizer_pb2.StreamTokenizeRequest(
            config=tokenizer_pb2.StreamTokenizeConfig(format=WAV)
        )
        for piece in cut(data[: len(data) // 2], [4000]):
            yield tokenizer_pb2.StreamTokenizeRequest(audio=piece)
        await gone.wait()  # the client never ends the stream: it goes away

    call = stub(channel).StreamTokenize(requests(), timeout=60)
    await call.read()  # groups came back: the stream holds state in Triton
    during = await triton_metrics(triton.metrics_url, "voxgate_stream_tokenizer_")
    assert during[ACTIVE] >= 1
    call.cancel()
    assert await call.code() == grpc.StatusCode.CANCELLED
    after = await until_freed(triton, before)
    assert after[FREED_END] > before.get(FREED_END, 0)
    gone.set()


async def test_a_stream_ended_by_a_bad_message_is_freed_too(channel, triton):
    before = await triton_metrics(triton.metrics_url, "voxgate_stream_tokenizer_")
    config = tokenizer_pb2.StreamTokenizeRequest(
        config=tokenizer_pb2.StreamTokenizeConfig(format=WAV)
    )
    audio = tokenizer_pb2.StreamTokenizeRequest(audio=wav_bytes(speechlike(1.0, seed=10), 16000))

    async def requests():
        yield config
        yield audio  # state in Triton from here
        yield config  # only the first message may carry a config

    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in stub(channel).StreamTokenize(requests(), timeout=60):
            pass
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await until_freed(triton, before)


async def until_freed(triton, before: dict[str, float]) -> dict[str, float]:
    """Triton's stream tokenizer metrics once it holds no more states than `before` (5 s)."""
    for _ in range(50):
        after = await triton_metrics(triton.metrics_url, "voxgate_stream_tokenizer_")
        if after[ACTIVE] == before.get(ACTIVE, 0):
            return after
        await asyncio.sleep(0.1)
    raise AssertionError(f"stream states not freed: {after}")


async def test_a_piece_longer_than_one_model_request_is_sent_in_several(channel):
    data = wav_bytes(speechlike(11.0, seed=12), 16000)  # one piece: 176000 samples > 160000
    unary = (await tokenize(channel, data)).tokens
    replies = await stream(channel, [data], WAV)
    assert joined(replies) == list(unary.interleaved)


async def test_tiny_pieces_make_one_model_request_per_group(channel, triton):
    """Samples are held until they complete a group's look-ahead: a client sending 3 bytes at
    a time makes about one stream tokenizer request per group, not one per sample."""
    wav = speechlike(0.9, seed=14)
    data = wav_bytes(wav, 16000)
    unary = (await tokenize(channel, data)).tokens
    before = await inference_counts(triton, "stream_tokenizer")
    replies = await stream(channel, cut(data, [3]), WAV)
    after = await inference_counts(triton, "stream_tokenizer")
    assert joined(replies) == list(unary.interleaved)
    groups = len(wav) // 1920
    assert after["stream_tokenizer"] - before["stream_tokenizer"] <= groups + 1
