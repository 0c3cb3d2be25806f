"""Plans model requests over long audio or token sequences, aligned to 120 ms groups.

A window carries `context` groups on each side (fewer at the ends); because the models' output
for a group depends only on that much context, the kept part equals processing the whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from voxgate.interleave import GROUP_SAMPLES


@dataclass(frozen=True)
class Window:
    """Groups [first, stop) are kept; the request covers groups [lo, hi) (hi may be partial)."""

    first: int
    stop: int
    lo: int
    hi: int

    @property
    def skip(self) -> int:
        """Leading context groups whose output is dropped."""
        return self.first - self.lo

    @property
    def keep(self) -> int:
        return self.stop - self.first


def plan(first: int, stop: int, total: int, chunk: int, context: int) -> list[Window]:
    """Windows keeping groups [first, stop) in chunks of at most `chunk`.

    `total` counts the groups that exist, a trailing partial group included, so context is
    clipped at the real end of the audio.
    """
    return plan_cuts([*range(first, stop, chunk), stop], total, context)


def plan_cuts(cuts: Iterable[int], total: int, context: int) -> list[Window]:
    """Windows keeping the groups between consecutive cut points (group indices), in order.

    Cut points are sorted and deduplicated; each window keeps groups [a, b) for neighbouring
    cuts a < b, with `context` groups of context on each side clipped to [0, `total`). The
    kept groups are exactly [min(cuts), max(cuts)); no cuts, or one, plan nothing.
    """
    points = sorted(set(cuts))
    return [
        Window(a, b, max(0, a - context), min(total, b + context))
        for a, b in itertools.pairwise(points)
    ]


def plan_aligned(first: int, stop: int, total: int, window: int) -> list[Window]:
    """Windows keeping groups [first, stop), each request covering a whole fixed window
    [k * window, (k + 1) * window) clipped to `total`: for tokenizers whose output depends on
    their whole input (Step-Audio cuts audio into 30 s chunks the same way)."""
    cuts = sorted({first, stop, *range((first // window + 1) * window, stop, window)})
    return [
        Window(a, b, a // window * window, min(total, (a // window + 1) * window))
        for a, b in itertools.pairwise(cuts)
    ]


def sample_span(window: Window, n_samples: int, buffer_start: int = 0) -> slice:
    """The samples a tokenizer window needs, relative to a buffer starting at `buffer_start`.

    A window reaching the last (partial) group ends where the audio ends, so the model sees
    exactly the samples, and beyond them the zeros, that it sees in the whole recording.
    """
    start = window.lo * GROUP_SAMPLES
    end = min(n_samples, window.hi * GROUP_SAMPLES)
    return slice(start - buffer_start, end - buffer_start)
