"""The streaming decode pipeline's bookkeeping, exactly, against a context-limited fake decoder."""

from __future__ import annotations

import numpy as np
import pytest
from voxgate.core.decoding import DecodeStream, decode_all
from voxgate.core.ports import ModelSpec

PER_GROUP = 4  # samples per group from the fake decoder


class ContextDecoder:
    """Each group's samples depend on the ids of the groups within `context` of it that the
    request holds, so a window that lacks needed context gives a different answer."""

    def __init__(self, context: int) -> None:
        self.context = context
        self.calls: list[int] = []

    async def spec(self) -> ModelSpec:
        return ModelSpec(2, self.context, 16000, "test")

    async def decode(self, ids: np.ndarray) -> np.ndarray:
        groups = np.asarray(ids).reshape(-1, 5)
        self.calls.append(len(groups))
        out = []
        for g in range(len(groups)):
            window = groups[max(0, g - self.context) : g + self.context + 1]
            value = float((window * np.arange(1, 6)).sum() % 9973)
            out.append(np.full(PER_GROUP, value, np.float32))
        return np.concatenate(out)


def _ids(groups: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ling = rng.integers(0, 1024, (groups, 2))
    sem = rng.integers(1024, 5120, (groups, 3))
    return np.concatenate([ling, sem], 1).reshape(-1)


@pytest.mark.parametrize("context", [0, 1, 2, 3])
@pytest.mark.parametrize("pieces", [[1] * 17, [3, 5, 1, 8], [17], [2, 2, 2, 11]])
async def test_stream_equals_whole_decode(context, pieces):
    ids = _ids(sum(pieces))
    expected = await ContextDecoder(context).decode(ids)
    stream = DecodeStream(ContextDecoder(context), chunk_groups=4)
    out, offset = [], 0
    for n in pieces:
        out.append(await stream.push(ids[offset * 5 : (offset + n) * 5]))
        offset += n
    out.append(await stream.finish())
    np.testing.assert_array_equal(np.concatenate(out), expected)
    assert stream.emitted == stream.received == sum(pieces)


async def test_audio_comes_out_once_the_lookahead_has_arrived():
    stream = DecodeStream(ContextDecoder(2), chunk_groups=50)
    ids = _ids(6)
    assert len(await stream.push(ids[:5])) == 0  # group 0 still waits for groups 1 and 2
    assert len(await stream.push(ids[5:10])) == 0
    assert len(await stream.push(ids[10:15])) == PER_GROUP  # group 0 is final
    assert len(await stream.push(ids[15:30])) == 3 * PER_GROUP
    assert len(await stream.finish()) == 2 * PER_GROUP


async def test_memory_stays_bounded_on_a_long_stream():
    stream = DecodeStream(ContextDecoder(2), chunk_groups=8)
    ids = _ids(400)
    for g in range(400):
        await stream.push(ids[g * 5 : (g + 1) * 5])
        assert len(stream._ids) <= 5 * (2 * 2 + 1)
    await stream.finish()
    assert stream.emitted == 400


async def test_min_emit_groups_batches_requests():
    decoder = ContextDecoder(1)
    stream = DecodeStream(decoder, chunk_groups=50, min_emit_groups=4)
    ids = _ids(20)
    sizes = [len(await stream.push(ids[g * 5 : (g + 1) * 5])) for g in range(20)]
    sizes.append(len(await stream.finish()))
    assert sum(sizes) == 20 * PER_GROUP
    assert all(s in (0, 4 * PER_GROUP) for s in sizes[:-1])
    assert len(decoder.calls) == 5


async def test_long_input_is_split_into_concurrent_windows():
    decoder = ContextDecoder(2)
    ids = _ids(30)
    out = await decode_all(decoder, ids, chunk_groups=7)
    np.testing.assert_array_equal(out, await ContextDecoder(2).decode(ids))
    assert len(decoder.calls) == 5 and max(decoder.calls) <= 7 + 2 * 2


async def test_partial_groups_are_refused():
    with pytest.raises(ValueError):
        await DecodeStream(ContextDecoder(1), 4).push(np.arange(7))


@pytest.mark.parametrize("context", [1, 2])
async def test_flush_at_a_boundary_then_continue(context):
    """A flush decodes the groups so far without look-ahead; later groups keep left context."""
    ids = _ids(12)
    stream = DecodeStream(ContextDecoder(context), chunk_groups=50)
    head = await stream.push(ids[:25], flush=True)  # 5 groups, e.g. one clause
    tail = await stream.push(ids[25:])
    tail = np.concatenate([tail, await stream.finish()])
    np.testing.assert_array_equal(head, await ContextDecoder(context).decode(ids[:25]))
    rest = await ContextDecoder(context).decode(ids[(5 - context) * 5 :])
    np.testing.assert_array_equal(tail, rest[context * PER_GROUP :])
    assert stream.emitted == 12


class ShiftedDecoder(ContextDecoder):
    """A ContextDecoder whose output also depends on the speaker shift it is given."""

    def __init__(self, context: int) -> None:
        super().__init__(context)
        self.shifts: list[np.ndarray | None] = []

    async def decode(self, ids: np.ndarray, speaker_shift: np.ndarray | None = None) -> np.ndarray:
        self.shifts.append(speaker_shift)
        out = await super().decode(ids)
        if speaker_shift is not None:
            out = out + float(np.sum(speaker_shift * np.arange(1, len(speaker_shift) + 1)))
        return out


@pytest.mark.parametrize("pieces", [[1] * 11, [4, 7], [11]])
async def test_the_speaker_shift_goes_with_every_decode_and_chunks_equal_whole(pieces):
    shift = np.linspace(-1.0, 1.0, 25).astype(np.float32)
    ids = _ids(sum(pieces))
    expected = await ShiftedDecoder(2).decode(ids, speaker_shift=shift)
    decoder = ShiftedDecoder(2)
    stream = DecodeStream(decoder, chunk_groups=3, speaker_shift=shift)
    out, offset = [], 0
    for n in pieces:
        out.append(await stream.push(ids[offset * 5 : (offset + n) * 5]))
        offset += n
    out.append(await stream.finish())
    np.testing.assert_array_equal(np.concatenate(out), expected)
    assert len(decoder.shifts) >= 3
    assert all(s is not None and np.array_equal(s, shift) for s in decoder.shifts)
    # without a shift the decoder is called as before (a decoder may not know the argument)
    plain = ShiftedDecoder(2)
    await DecodeStream(plain, chunk_groups=3).push(ids, flush=True)
    assert plain.shifts and all(s is None for s in plain.shifts)
