"""Step-Audio token format: interleaving, validation and the `<audio_N>` text form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voxgate import interleave as il
from voxgate.errors import InvalidArgument

# Independent constants from the design (not imported from the code under test).
L_CODES = 1024
S_CODES = 4096
VOCAB = 5120

ling_codes = st.lists(st.integers(0, L_CODES - 1), max_size=40)
sem_codes = st.lists(st.integers(0, S_CODES - 1), max_size=60)
FAST = settings(max_examples=150, deadline=None)


def reference_interleave(ling: list[int], sem: list[int]) -> list[int]:
    """Straightforward loop: per group [l, l, 1024+s, 1024+s, 1024+s], leftovers dropped."""
    out = []
    g = 0
    while 2 * g + 1 < len(ling) and 3 * g + 2 < len(sem):
        out += [ling[2 * g], ling[2 * g + 1]]
        out += [1024 + sem[3 * g], 1024 + sem[3 * g + 1], 1024 + sem[3 * g + 2]]
        g += 1
    return out


def valid_ids(groups: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids = np.empty((groups, 5), np.int64)
    ids[:, :2] = rng.integers(0, L_CODES, (groups, 2))
    ids[:, 2:] = rng.integers(L_CODES, VOCAB, (groups, 3))
    return ids.reshape(-1)


# --- worked example -------------------------------------------------------------------------


def test_hand_worked_example() -> None:
    ids = il.interleave(np.array([1, 2, 3, 4, 5]), np.array([0, 1, 2, 3, 4, 5, 6]))
    assert ids.tolist() == [1, 2, 1024, 1025, 1026, 3, 4, 1027, 1028, 1029]
    assert ids.dtype == np.int64
    assert il.to_text(ids) == (
        "<audio_1><audio_2><audio_1024><audio_1025><audio_1026>"
        "<audio_3><audio_4><audio_1027><audio_1028><audio_1029>"
    )
    t = il.deinterleave(ids)
    assert t.linguistic.tolist() == [1, 2, 3, 4]
    assert t.semantic.tolist() == [0, 1, 2, 3, 4, 5]
    assert t.group_count == 2


def test_extreme_codes_map_to_vocabulary_edges() -> None:
    ids = il.interleave(np.array([0, 1023]), np.array([0, 4095, 17]))
    assert ids.tolist() == [0, 1023, 1024, 5119, 1041]


@pytest.mark.parametrize(
    ("n_l", "n_s", "groups"),
    [(0, 0, 0), (1, 3, 0), (2, 2, 0), (2, 3, 1), (3, 5, 1), (4, 5, 1), (4, 6, 2), (10, 6, 2)],
)
def test_group_count_rule_examples(n_l: int, n_s: int, groups: int) -> None:
    assert il.group_count(n_l, n_s) == groups
    assert len(il.interleave(np.zeros(n_l, np.int64), np.zeros(n_s, np.int64))) == 5 * groups


# --- properties -----------------------------------------------------------------------------


@FAST
@given(ling_codes, sem_codes)
def test_interleave_matches_loop_reference(ling: list[int], sem: list[int]) -> None:
    ids = il.interleave(np.array(ling, np.int64), np.array(sem, np.int64))
    assert ids.tolist() == reference_interleave(ling, sem)


@FAST
@given(ling_codes, sem_codes)
def test_group_count_and_leftovers_dropped(ling: list[int], sem: list[int]) -> None:
    g = min(len(ling) // 2, len(sem) // 3)
    assert il.group_count(len(ling), len(sem)) == g
    t = il.grouped(np.array(ling, np.int64), np.array(sem, np.int64))
    assert t.group_count == g
    assert t.linguistic.tolist() == ling[: 2 * g]
    assert t.semantic.tolist() == sem[: 3 * g]
    ids = il.interleave(np.array(ling, np.int64), np.array(sem, np.int64))
    assert len(ids) == 5 * g


@FAST
@given(ling_codes, sem_codes)
def test_ids_in_vocabulary_and_slots(ling: list[int], sem: list[int]) -> None:
    ids = il.interleave(np.array(ling, np.int64), np.array(sem, np.int64))
    assert np.all((ids >= 0) & (ids < VOCAB))
    slots = ids.reshape(-1, 5)
    assert np.all(slots[:, :2] < 1024)
    assert np.all(slots[:, 2:] >= 1024)


@FAST
@given(st.integers(1, 30), st.integers(0, 2**31))
def test_deinterleave_interleave_round_trip(groups: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ling = rng.integers(0, L_CODES, 2 * groups)
    sem = rng.integers(0, S_CODES, 3 * groups)
    t = il.deinterleave(il.interleave(ling, sem))
    np.testing.assert_array_equal(t.linguistic, ling)
    np.testing.assert_array_equal(t.semantic, sem)
    # and the other direction: ids -> streams -> ids
    ids = valid_ids(groups, seed)
    back = il.deinterleave(ids).interleaved()
    np.testing.assert_array_equal(back, ids)


@FAST
@given(st.integers(1, 20), st.integers(0, 2**31), st.lists(st.sampled_from(["", " ", "\n", "\t "])))
def test_text_round_trip_with_whitespace(groups: int, seed: int, seps: list[str]) -> None:
    ids = valid_ids(groups, seed)
    text = il.to_text(ids)
    assert text == "".join(f"<audio_{n}>" for n in ids.tolist())
    np.testing.assert_array_equal(il.from_text(text), ids)
    # whitespace between (and around) tokens is accepted
    pieces = [f"<audio_{n}>" for n in ids.tolist()]
    spaced = ""
    for i, p in enumerate(pieces):
        spaced += (seps[i % len(seps)] if seps else " ") + p
    spaced += "\n"
    np.testing.assert_array_equal(il.from_text(spaced), ids)


def test_from_text_empty_gives_no_ids_and_validation_rejects() -> None:
    assert il.from_text("").size == 0
    assert il.from_text("  \n").size == 0
    with pytest.raises(InvalidArgument):
        il.validate_interleaved(il.from_text(""))


def test_tokens_concat_and_empty() -> None:
    a = il.grouped(np.array([1, 2]), np.array([3, 4, 5]))
    b = il.grouped(np.array([6, 7]), np.array([8, 9, 10]))
    c = il.Tokens.empty().concat(a).concat(b)
    assert c.group_count == 2
    assert c.interleaved().tolist() == [1, 2, 1027, 1028, 1029, 6, 7, 1032, 1033, 1034]


# --- validation errors ----------------------------------------------------------------------


def test_validate_accepts_and_returns_int64() -> None:
    ids = il.validate_interleaved([5, 6, 2000, 3000, 5119])
    assert ids.dtype == np.int64
    assert ids.tolist() == [5, 6, 2000, 3000, 5119]


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param([], id="empty"),
        pytest.param([1, 2, 1024, 1025], id="four-ids"),
        pytest.param([1, 2, 1024, 1025, 1026, 3], id="six-ids"),
        pytest.param([1, 2, 1024, 1025, 5120], id="id-5120"),
        pytest.param([1, 2, 1024, 1025, 99999], id="id-huge"),
        pytest.param([-1, 2, 1024, 1025, 1026], id="negative"),
        pytest.param([1, 2, 1024, 1025, -5], id="negative-semantic-slot"),
        pytest.param([1024, 2, 1024, 1025, 1026], id="semantic-in-ling-slot-0"),
        pytest.param([1, 5119, 1024, 1025, 1026], id="semantic-in-ling-slot-1"),
        pytest.param([1, 2, 1023, 1025, 1026], id="ling-in-sem-slot-2"),
        pytest.param([1, 2, 1024, 1025, 0], id="ling-in-sem-slot-4"),
        pytest.param([1, 2, 1024, 1025, 1026, 3, 4, 1027, 7, 1029], id="second-group-bad"),
    ],
)
def test_validate_interleaved_rejects(ids: list[int]) -> None:
    with pytest.raises(InvalidArgument):
        il.validate_interleaved(np.array(ids, np.int64))
    with pytest.raises(InvalidArgument):
        il.deinterleave(np.array(ids, np.int64))


def test_validate_error_names_field_and_index() -> None:
    with pytest.raises(InvalidArgument) as info:
        il.validate_interleaved([1, 2, 1024, 1025, 1026, 3, 1500, 1027, 1028, 1029], "x.ids")
    assert "x.ids[6]" in info.value.message


@FAST
@given(st.integers(1, 10), st.integers(0, 2**31), st.data())
def test_any_single_out_of_slot_id_rejected(groups: int, seed: int, data: st.DataObject) -> None:
    ids = valid_ids(groups, seed)
    pos = data.draw(st.integers(0, len(ids) - 1))
    if pos % 5 < 2:  # linguistic slot: put a semantic or out-of-range id there
        ids[pos] = data.draw(st.one_of(st.integers(1024, 10**6), st.integers(-(10**6), -1)))
    else:
        ids[pos] = data.draw(st.one_of(st.integers(-(10**6), 1023), st.integers(5120, 10**6)))
    with pytest.raises(InvalidArgument):
        il.validate_interleaved(ids)


@pytest.mark.parametrize(
    "text",
    [
        "<audio_1",
        "audio_1",
        "<audio_>",
        "<audio_-1>",
        "<audio_1><audio_2>x",
        "x<audio_1>",
        "<audio_1> , <audio_2>",
        "<AUDIO_1>",
        "<audio_1 >",
        "<audio_1.5>",
    ],
)
def test_from_text_malformed(text: str) -> None:
    with pytest.raises(InvalidArgument):
        il.from_text(text)


def test_from_text_huge_number_is_out_of_range_not_overflow() -> None:
    ids = il.from_text("<audio_1><audio_2><audio_1024><audio_1025><audio_99999999999999999999999>")
    with pytest.raises(InvalidArgument):
        il.validate_interleaved(ids)


def test_from_text_out_of_vocabulary_rejected_by_validation() -> None:
    ids = il.from_text("<audio_1><audio_2><audio_1024><audio_1025><audio_5120>")
    assert ids.tolist()[:4] == [1, 2, 1024, 1025]
    with pytest.raises(InvalidArgument):
        il.validate_interleaved(ids)


# --- separate streams -----------------------------------------------------------------------


def test_validate_streams_groups_and_drops_leftovers() -> None:
    t = il.validate_streams(np.array([0, 1023, 7]), np.array([0, 4095, 3, 9]))
    assert t.linguistic.tolist() == [0, 1023]
    assert t.semantic.tolist() == [0, 4095, 3]


@pytest.mark.parametrize(
    ("ling", "sem"),
    [
        pytest.param([0, 1024], [0, 1, 2], id="ling-1024"),
        pytest.param([-1, 0], [0, 1, 2], id="ling-negative"),
        pytest.param([0, 1], [0, 4096, 2], id="sem-4096"),
        pytest.param([0, 1], [0, -3, 2], id="sem-negative"),
        pytest.param([0], [0, 1, 2], id="too-few-ling"),
        pytest.param([0, 1], [0, 1], id="too-few-sem"),
        pytest.param([], [], id="empty"),
    ],
)
def test_validate_streams_rejects(ling: list[int], sem: list[int]) -> None:
    with pytest.raises(InvalidArgument):
        il.validate_streams(np.array(ling, np.int64), np.array(sem, np.int64))


@FAST
@given(
    st.lists(st.integers(-5000, 10000), min_size=2, max_size=20),
    st.lists(st.integers(-5000, 10000), min_size=3, max_size=30),
)
def test_validate_streams_accepts_iff_codes_in_range(ling: list[int], sem: list[int]) -> None:
    ok = all(0 <= c < L_CODES for c in ling) and all(0 <= c < S_CODES for c in sem)
    if ok:
        t = il.validate_streams(np.array(ling), np.array(sem))
        assert t.interleaved().tolist() == reference_interleave(ling, sem)
    else:
        with pytest.raises(InvalidArgument):
            il.validate_streams(np.array(ling), np.array(sem))
