"""Chunk planning, and chunked / streamed tokenization against a fake in-process tokenizer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voxgate.audio import Container, Encoding, PcmFormat
from voxgate.core.chunking import Window, plan, plan_cuts, sample_span
from voxgate.core.tokenization import Limits, RawAudio, Tokenization, load_16k, split_groups
from voxgate.triton import ModelSpec

GROUP = 1920  # 120 ms at 16 kHz (model contract)
L_HOP, S_HOP = 960, 640


# --- plan / sample_span ---------------------------------------------------------------------


@st.composite
def plans(draw):
    total = draw(st.integers(0, 400))
    first = draw(st.integers(0, total))
    stop = draw(st.integers(first, total))
    chunk = draw(st.integers(1, 300))
    context = draw(st.integers(0, 4))
    return first, stop, total, chunk, context


@settings(max_examples=300, deadline=None)
@given(plans())
def test_plan_covers_range_once_in_order(args) -> None:
    first, stop, total, chunk, context = args
    windows = plan(first, stop, total, chunk, context)
    kept = [g for w in windows for g in range(w.first, w.stop)]
    assert kept == list(range(first, stop))
    assert len(windows) == -(-(stop - first) // chunk)
    for w in windows:
        assert 1 <= w.keep <= chunk
        assert w.keep == w.stop - w.first
        assert w.lo == max(0, w.first - context)
        assert w.hi == min(total, w.stop + context)
        assert 0 <= w.lo <= w.first < w.stop <= w.hi <= total
        assert w.skip == w.first - w.lo
        assert w.skip <= context
        assert w.hi - w.stop <= context


def test_plan_examples() -> None:
    assert plan(0, 5, 6, 2, 1) == [Window(0, 2, 0, 3), Window(2, 4, 1, 5), Window(4, 5, 3, 6)]
    assert plan(3, 3, 10, 4, 2) == []
    assert plan(0, 10, 10, 250, 4) == [Window(0, 10, 0, 10)]
    assert plan(7, 9, 9, 1, 3) == [Window(7, 8, 4, 9), Window(8, 9, 5, 9)]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 400), st.lists(st.integers(0, 400), max_size=12), st.integers(0, 4))
def test_plan_cuts_keeps_between_cuts(total: int, raw: list[int], context: int) -> None:
    cuts = [min(c, total) for c in raw]
    windows = plan_cuts(cuts, total, context)
    points = sorted(set(cuts))
    kept = [g for w in windows for g in range(w.first, w.stop)]
    assert kept == (list(range(points[0], points[-1])) if points else [])
    assert [(w.first, w.stop) for w in windows] == list(itertools.pairwise(points))
    for w in windows:
        assert w.lo == max(0, w.first - context)
        assert w.hi == min(total, w.stop + context)


@settings(max_examples=300, deadline=None)
@given(plans())
def test_plan_is_plan_cuts_at_chunk_boundaries(args) -> None:
    first, stop, total, chunk, context = args
    cuts = [*range(first, stop, chunk), stop]
    assert plan(first, stop, total, chunk, context) == plan_cuts(cuts, total, context)


def test_plan_cuts_examples() -> None:
    assert plan_cuts([], 10, 2) == []
    assert plan_cuts([4], 10, 2) == []
    assert plan_cuts([6, 0, 2, 2, 9], 9, 1) == [
        Window(0, 2, 0, 3),
        Window(2, 6, 1, 7),
        Window(6, 9, 5, 9),
    ]


@settings(max_examples=300, deadline=None)
@given(plans(), st.integers(0, GROUP - 1), st.data())
def test_sample_span(args, partial: int, data) -> None:
    first, stop, total, chunk, context = args
    if total == 0:
        return
    n_samples = (total - 1) * GROUP + 1 + partial  # last group may be partial
    assert -(-n_samples // GROUP) == total
    for w in plan(first, stop, total, chunk, context):
        buffer_start = data.draw(st.integers(0, w.lo)) * GROUP
        span = sample_span(w, n_samples, buffer_start)
        assert span.start == w.lo * GROUP - buffer_start
        assert span.stop == min(n_samples, w.hi * GROUP) - buffer_start
        assert span.start >= 0
        assert span.stop + buffer_start <= n_samples
        # the kept groups are inside the span
        assert span.start + buffer_start <= w.first * GROUP
        assert span.stop + buffer_start >= min(n_samples, w.stop * GROUP)


# --- a fake tokenizer with exactly the contract's locality ----------------------------------


def fake_stream(wav: np.ndarray, hop: int, codes: int, context: int, seed: int) -> np.ndarray:
    """Token k = integer weighted sum of samples in [k*hop - ctx, (k+1)*hop + ctx) mod codes.

    Samples outside the input count as zeros. Integer arithmetic keeps it bit-exact whatever
    the slicing, so chunked and whole results can be compared with equality.
    """
    ctx = context * GROUP
    weights = np.random.default_rng(seed).integers(1, 1000, hop + 2 * ctx)
    q = np.round(np.asarray(wav, np.float64) * 1000).astype(np.int64)
    padded = np.concatenate([np.zeros(ctx, np.int64), q, np.zeros(ctx + hop, np.int64)])
    n = len(wav) // hop
    out = np.empty(n, np.int64)
    for k in range(n):
        out[k] = int(padded[k * hop : k * hop + hop + 2 * ctx] @ weights) % codes
    return out


def fake_tokenize(wav: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    return (
        fake_stream(wav, L_HOP, 1024, context, seed=1),
        fake_stream(wav, S_HOP, 4096, context, seed=2),
    )


class FakeModels:
    """Stand-in for TritonModels: the spec the planner reads plus the fake tokenizer."""

    def __init__(self, context: int, model_context: int | None = None) -> None:
        self.context = context  # what the "config" declares
        self.model_context = context if model_context is None else model_context
        self.calls: list[int] = []

    async def spec(self) -> ModelSpec:
        return ModelSpec(
            context_groups=self.context,
            decoder_context_groups=1,
            output_sample_rate=16000,
            profile="fake",
        )

    async def tokenize(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert waveform.dtype == np.float32
        self.calls.append(len(waveform))
        return fake_tokenize(waveform, self.model_context)


def tokenization(models: FakeModels, lim: Limits) -> Tokenization:
    """Tokenization over the fake tokenizer (these tests never decode)."""
    return Tokenization(models, models, lim)


def limits(chunk: int) -> Limits:
    return Limits(
        max_audio_seconds=600.0,
        max_detokenize_tokens=25000,
        chunk_groups=chunk,
        decode_chunk_groups=chunk,
    )


def noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.9, 0.9, n).astype(np.float32)


def whole_groups(wav: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    ling, sem = fake_tokenize(wav, context)
    g = len(wav) // GROUP
    return ling[: 2 * g], sem[: 3 * g]


def test_fake_tokenizer_is_local() -> None:
    """Sanity of the stand-in: changing a sample far away leaves a token alone, near changes it."""
    wav = noise(20 * GROUP, 0)
    ling, _ = fake_tokenize(wav, 2)
    k = 10  # token 10 covers samples [9600, 10560); its context reaches 2*1920 further
    far = wav.copy()
    far[(k + 1) * L_HOP + 2 * GROUP + 5] += 0.5
    near = wav.copy()
    near[(k + 1) * L_HOP + 2 * GROUP - 5] += 0.5
    assert fake_tokenize(far, 2)[0][k] == ling[k]
    assert fake_tokenize(near, 2)[0][k] != ling[k]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 250])
@pytest.mark.parametrize("context", [0, 1, 2, 4])
@pytest.mark.parametrize("n_samples", [25 * GROUP, 25 * GROUP + 1234, 3 * GROUP - 1])
async def test_chunked_equals_whole(chunk: int, context: int, n_samples: int) -> None:
    wav = noise(n_samples, chunk * 10 + context)
    models = FakeModels(context)
    tz = tokenization(models, limits(chunk))
    g = n_samples // GROUP
    tokens = await tz.tokenize_samples(wav, 0, g, n_samples)
    ling, sem = whole_groups(wav, context)
    assert tokens.group_count == g
    np.testing.assert_array_equal(tokens.linguistic, ling)
    np.testing.assert_array_equal(tokens.semantic, sem)
    assert len(models.calls) == -(-g // chunk)
    assert max(models.calls) <= (chunk + 2 * context) * GROUP


async def test_chunked_subrange_with_offset_buffer() -> None:
    n = 30 * GROUP + 500
    wav = noise(n, 5)
    tz = tokenization(FakeModels(2), limits(3))
    start = 8 * GROUP  # the caller only holds samples from group 8 on
    tokens = await tz.tokenize_samples(wav[start:], 10, 25, n, buffer_start=start)
    ling, sem = whole_groups(wav, 2)
    np.testing.assert_array_equal(tokens.linguistic, ling[20:50])
    np.testing.assert_array_equal(tokens.semantic, sem[30:75])


async def test_understated_context_is_detected() -> None:
    """The comparison can fail: a model using more context than declared breaks chunking."""
    wav = noise(20 * GROUP, 9)
    tz = tokenization(FakeModels(context=0, model_context=2), limits(2))
    tokens = await tz.tokenize_samples(wav, 0, 20, len(wav))
    ling, _ = whole_groups(wav, 2)
    assert not np.array_equal(tokens.linguistic, ling)


async def test_tokenize_empty_range() -> None:
    tokens = await tokenization(FakeModels(2), limits(5)).tokenize_samples(np.zeros(10), 3, 3, 10)
    assert tokens.group_count == 0


async def test_tokenize_raw_audio_end_to_end() -> None:
    wav = noise(12 * GROUP + 77, 3)
    data = np.round(wav * 32767).astype("<i2").tobytes()
    fmt = PcmFormat(Encoding.S16LE, 16000, 1)
    result = await tokenization(FakeModels(2), limits(4)).tokenize(RawAudio(data, fmt))
    ling, sem = whole_groups(load_16k(RawAudio(data, fmt), 600), 2)
    assert result.duration_seconds == pytest.approx(len(wav) / 16000)
    np.testing.assert_array_equal(result.tokens.linguistic, ling)
    np.testing.assert_array_equal(result.tokens.semantic, sem)


# --- streaming ------------------------------------------------------------------------------


def pieces(data: bytes, seed: int, max_piece: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out, i = [], 0
    while i < len(data):
        n = int(rng.integers(1, max_piece))
        out.append(data[i : i + n])
        i += n
    return out


@pytest.mark.parametrize(
    ("context", "chunk", "seed", "max_piece"),
    [(2, 250, 0, 4000), (2, 1, 1, 700), (1, 3, 2, 20000), (0, 2, 3, 3000), (4, 7, 4, 9000)],
)
async def test_stream_equals_whole(context: int, chunk: int, seed: int, max_piece: int) -> None:
    n = 40 * GROUP + 333
    wav = noise(n, seed)
    data = np.round(wav * 32767).astype("<i2").tobytes()
    fmt = PcmFormat(Encoding.S16LE, 16000, 1)
    tz = tokenization(FakeModels(context), limits(chunk))
    stream = tz.open_stream(Container.RAW, fmt)
    results: list = []
    received = 0
    for piece in pieces(data, seed, max_piece):
        results += await stream.push(piece)
        received += len(piece)
        # a group is final as soon as its look-ahead (context groups) has arrived
        assert stream.groups_done == max(0, (received // 2) // GROUP - context)
        assert len(results) == stream.groups_done
    results += await stream.finish()
    g = n // GROUP
    assert [i for i, _ in results] == list(range(g))
    assert all(t.group_count == 1 for _, t in results)
    ling, sem = whole_groups(load_16k(RawAudio(data, fmt), 600), context)
    joined = split_groups(results)
    np.testing.assert_array_equal(joined.linguistic, ling)
    np.testing.assert_array_equal(joined.semantic, sem)


async def test_stream_44k_stereo_equals_whole() -> None:
    rate, seconds = 44100, 2.0
    frames = np.random.default_rng(7).uniform(-0.8, 0.8, (int(rate * seconds), 2))
    data = np.round(frames * 32767).astype("<i2").tobytes()
    fmt = PcmFormat(Encoding.S16LE, rate, 2)
    tz = tokenization(FakeModels(2), limits(3))
    stream = tz.open_stream(Container.RAW, fmt)
    results: list = []
    for piece in pieces(data, 7, 10000):
        results += await stream.push(piece)
    results += await stream.finish()
    whole = load_16k(RawAudio(data, fmt), 600)
    ling, sem = whole_groups(whole, 2)
    assert [i for i, _ in results] == list(range(len(whole) // GROUP))
    joined = split_groups(results)
    np.testing.assert_array_equal(joined.linguistic, ling)
    np.testing.assert_array_equal(joined.semantic, sem)
