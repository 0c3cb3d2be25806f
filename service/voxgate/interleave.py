"""The Step-Audio token format: two streams, interleaved [l, l, s, s, s] per 120 ms group."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from voxgate.errors import InvalidArgument

SAMPLE_RATE = 16_000
GROUP_SAMPLES = 1920  # 120 ms at 16 kHz
LINGUISTIC_PER_GROUP = 2
SEMANTIC_PER_GROUP = 3
TOKENS_PER_GROUP = LINGUISTIC_PER_GROUP + SEMANTIC_PER_GROUP
LINGUISTIC_CODES = 1024
SEMANTIC_CODES = 4096
SEMANTIC_OFFSET = LINGUISTIC_CODES
VOCABULARY_SIZE = LINGUISTIC_CODES + SEMANTIC_CODES  # 5120
LLM_VOCABULARY_OFFSET = 65536
GROUP_PATTERN = "llsss"
TEXT_FORM = "<audio_{N}>"

_TEXT_TOKEN = re.compile(r"\s*<audio_(\d+)>")


@dataclass(frozen=True)
class Tokens:
    """Whole groups of both streams; `linguistic` has 2 and `semantic` 3 codes per group."""

    linguistic: np.ndarray
    semantic: np.ndarray

    @property
    def group_count(self) -> int:
        return len(self.linguistic) // LINGUISTIC_PER_GROUP

    @classmethod
    def empty(cls) -> Tokens:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))

    def interleaved(self) -> np.ndarray:
        return interleave(self.linguistic, self.semantic)

    def concat(self, other: Tokens) -> Tokens:
        return Tokens(
            np.concatenate([self.linguistic, other.linguistic]),
            np.concatenate([self.semantic, other.semantic]),
        )


def group_count(n_linguistic: int, n_semantic: int) -> int:
    """Step-Audio's rule: whole groups only, leftovers dropped."""
    return min(n_linguistic // LINGUISTIC_PER_GROUP, n_semantic // SEMANTIC_PER_GROUP)


def grouped(linguistic: np.ndarray, semantic: np.ndarray) -> Tokens:
    """Trims both streams to whole groups (Step-Audio drops leftovers)."""
    g = group_count(len(linguistic), len(semantic))
    return Tokens(
        np.asarray(linguistic[: g * LINGUISTIC_PER_GROUP], np.int64),
        np.asarray(semantic[: g * SEMANTIC_PER_GROUP], np.int64),
    )


def interleave(linguistic: np.ndarray, semantic: np.ndarray) -> np.ndarray:
    """Combined ids N per group: [l0, l1, 1024+s0, 1024+s1, 1024+s2], leftovers dropped."""
    t = grouped(np.asarray(linguistic), np.asarray(semantic))
    g = t.group_count
    out = np.empty((g, TOKENS_PER_GROUP), np.int64)
    out[:, :LINGUISTIC_PER_GROUP] = t.linguistic.reshape(g, LINGUISTIC_PER_GROUP)
    out[:, LINGUISTIC_PER_GROUP:] = t.semantic.reshape(g, SEMANTIC_PER_GROUP) + SEMANTIC_OFFSET
    return out.reshape(-1)


def validate_interleaved(ids: np.ndarray, field: str = "interleaved.ids") -> np.ndarray:
    """Checks whole groups and each id's range for its slot; returns int64 ids."""
    ids = np.asarray(ids, np.int64)
    if ids.size == 0:
        raise InvalidArgument(f"{field}: no tokens")
    if ids.size % TOKENS_PER_GROUP:
        raise InvalidArgument(
            f"{field}: {ids.size} ids is not a whole number of {TOKENS_PER_GROUP}-id groups"
        )
    bad = np.flatnonzero((ids < 0) | (ids >= VOCABULARY_SIZE))
    if bad.size:
        i = int(bad[0])
        raise InvalidArgument(f"{field}[{i}]: id {ids[i]} outside [0, {VOCABULARY_SIZE})")
    slots = ids.reshape(-1, TOKENS_PER_GROUP)
    is_ling = slots < SEMANTIC_OFFSET
    expected = np.array([True] * LINGUISTIC_PER_GROUP + [False] * SEMANTIC_PER_GROUP)
    wrong = np.flatnonzero((is_ling != expected).reshape(-1))
    if wrong.size:
        i = int(wrong[0])
        kind = "linguistic (< 1024)" if expected[i % TOKENS_PER_GROUP] else "semantic (>= 1024)"
        raise InvalidArgument(f"{field}[{i}]: id {ids[i]} in a {kind} slot of the group")
    return ids


def deinterleave(ids: np.ndarray) -> Tokens:
    """Inverse of `interleave` for validated ids."""
    slots = validate_interleaved(ids).reshape(-1, TOKENS_PER_GROUP)
    return Tokens(
        slots[:, :LINGUISTIC_PER_GROUP].reshape(-1).copy(),
        (slots[:, LINGUISTIC_PER_GROUP:] - SEMANTIC_OFFSET).reshape(-1).copy(),
    )


def validate_streams(linguistic: np.ndarray, semantic: np.ndarray) -> Tokens:
    """Checks code ranges of separate streams and groups them."""
    ling = np.asarray(linguistic, np.int64)
    sem = np.asarray(semantic, np.int64)
    for name, arr, n in (("linguistic", ling, LINGUISTIC_CODES), ("semantic", sem, SEMANTIC_CODES)):
        bad = np.flatnonzero((arr < 0) | (arr >= n))
        if bad.size:
            i = int(bad[0])
            raise InvalidArgument(f"streams.{name}[{i}]: code {arr[i]} outside [0, {n})")
    tokens = grouped(ling, sem)
    if tokens.group_count == 0:
        raise InvalidArgument("streams: fewer than one whole group (2 linguistic + 3 semantic)")
    return tokens


def to_text(ids: np.ndarray) -> str:
    """Step-Audio text form: '<audio_N>' per id, no separators."""
    return "".join(f"<audio_{int(n)}>" for n in ids)


def from_text(text: str) -> np.ndarray:
    """Parses the text form (whitespace between tokens allowed) into ids."""
    ids: list[int] = []
    pos = 0
    stripped_end = len(text.rstrip())
    while pos < stripped_end:
        m = _TEXT_TOKEN.match(text, pos)
        if not m:
            raise InvalidArgument(f"text: expected '<audio_N>' at character {pos}")
        ids.append(int(m.group(1)) if len(m.group(1)) <= 6 else VOCABULARY_SIZE)
        pos = m.end()
    return np.asarray(ids, np.int64)
