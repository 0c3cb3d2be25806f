"""Text normalisation and clause splitting, whole and incremental."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from voxgate.core.text import (
    ClauseBuffer,
    fast_start,
    normalize,
    speakable_clauses,
    split_clauses,
)


@pytest.mark.parametrize(
    "raw,spoken",
    [
        ("Dr. Smith arrived.", "Doctor Smith arrived."),
        ("It costs $12.50 today.", "It costs twelve dollars fifty cents today."),
        ("£1 only", "one pound only"),
        ("Run 5 km, then 1 m.", "Run five kilometers, then one meter."),
        (
            "It was 25°C and 50% humid.",
            "It was twenty-five degrees Celsius and fifty percent humid.",
        ),
        ("On 2024-03-15 at 10:30 am.", "On March fifteenth, twenty twenty-four at ten thirty a m."),
        ("At 9:05 we met.", "At nine oh five we met."),
        ("The 21st of them", "The twenty-first of them"),
        ("Back in 1999.", "Back in nineteen ninety-nine."),
        ("pi is 3.14", "pi is three point one four"),
        ("1,000,000 people", "one million people"),
        ("Tom & Jerry", "Tom and Jerry"),
        ("  many   spaces  ", "many spaces"),
    ],
)
def test_normalize(raw, spoken):
    assert normalize(raw) == spoken


def test_normalized_numbers_have_no_commas_to_cut_at():
    assert "," not in normalize("1234567")


def test_split_clauses_at_sentence_ends_and_long_commas():
    text = "Well, I think that this long clause should be split, and then we go on; OK? Yes!"
    assert split_clauses(text) == [
        "Well, I think that this long clause should be split,",
        "and then we go on;",
        "OK?",
        "Yes!",
    ]
    assert split_clauses("Hello there, this is voxgate.") == ["Hello there, this is voxgate."]
    assert split_clauses("no end mark") == ["no end mark"]
    assert split_clauses("   ") == []


def test_clause_buffer_waits_for_whitespace_after_an_end_mark():
    buf = ClauseBuffer(1000)
    assert buf.push("Hello the") == []
    assert buf.push("re, this is a test of 3.") == []
    assert buf.push("5 seconds. And") == ["Hello there, this is a test of 3.5 seconds."]
    assert buf.push(" more") == []
    assert buf.flush() == ["And more"]
    assert buf.flush() == []


@given(st.text(alphabet="abc ,.!?;", max_size=80), st.lists(st.integers(1, 9), max_size=20))
def test_incremental_equals_whole_for_any_cut(text, cuts):
    buf, out, pos = ClauseBuffer(10_000), [], 0
    for n in cuts:
        out += buf.push(text[pos : pos + n])
        pos += n
    out += buf.push(text[pos:])
    out += buf.flush()
    assert " ".join(out).split() == text.split()


def test_fast_start_cuts_a_short_head_off_the_first_clause():
    assert fast_start(["Hello there, this is voxgate speaking today.", "Next."]) == [
        "Hello there,",
        "this is voxgate speaking today.",
        "Next.",
    ]
    assert fast_start(["The quick brown fox jumps over the lazy dog."]) == [
        "The quick brown fox",
        "jumps over the lazy dog.",
    ]
    assert fast_start(["Short and sweet, really."]) == ["Short and sweet, really."]
    assert fast_start([]) == []


def _stream_clauses(text: str, cuts: list[int]) -> list[str]:
    """What StreamSynthesize speaks for `text` arriving in pieces (core.synthesis.SpeechStream)."""
    buf, spoken, pos = ClauseBuffer(10**6), [], 0

    def speak(clauses: list[str]) -> None:
        first = not spoken
        clauses = fast_start(clauses) if first else clauses
        spoken.extend(c for c in (normalize(c) for c in clauses) if c)

    for n in [*cuts, len(text)]:
        clauses = buf.push(text[pos : pos + n])
        pos += n
        speak(clauses if clauses or spoken else buf.head())
    speak(buf.flush())
    return spoken


WORDS = [
    "Hello",
    "there,",
    "Dr.",
    "Smith",
    "paid",
    "$12.50",
    "for",
    "3",
    "kg",
    "in",
    "1999.",
    "it",
    "was",
    "fine;",
    "OK?",
    "yes!",
    "and",
    "then",
    "we",
    "went",
    "home.",
]


@given(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=30),
    st.lists(st.integers(1, 12), max_size=40),
)
def test_streamed_text_is_spoken_in_the_same_clauses_as_whole_text(words, cuts):
    text = " ".join(words)
    assert _stream_clauses(text, cuts) == speakable_clauses(text)


def test_an_abbreviation_does_not_end_a_clause():
    assert split_clauses("Ask Dr. Smith, e.g. now.") == ["Ask Dr. Smith, e.g. now."]
