"""How far a live stream's results trail its audio: streams the server cannot keep up with end.

A live stream that falls behind real time is useless to its client (captions seconds late)
and, worse, keeps taking its share of the CPU while every other stream waits behind it. Past
`max_lag_s` it ends with RESOURCE_EXHAUSTED and a retry delay, so the streams that remain stay
real-time (admission already refuses new streams beyond the server's caps).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from voxgate.errors import ResourceExhausted


class RealTimeLag:
    """The lag of a stream's results behind its audio, for a client that sends in real time.

    Per message (Lindley's recursion for a single queue):
    `lag = max(0, lag - audio_s - waited_s) + busy_s`. The message's audio ends `audio_s` after
    the previous message's; time spent waiting for it means the server was ahead (a client
    sending faster than real time, or in bursts, never accumulates lag); `busy_s` runs from its
    arrival to the client taking the last response it produced, so a client that reads slowly
    counts as well as a slow model. `max_lag_s` 0 turns the limit off.
    """

    def __init__(
        self,
        max_lag_s: float,
        retry_after_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_lag_s = max_lag_s
        self.lag_s = 0.0
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._arrived: float | None = None
        self._idle_since: float | None = None  # when the previous message was done with
        self._waited = 0.0

    def arrived(self) -> None:
        """A message came in (call before working on it)."""
        now = self._clock()
        self._waited = 0.0 if self._idle_since is None else now - self._idle_since
        self._arrived = now

    def done(self, audio_s: float) -> None:
        """The message, holding `audio_s` of audio, is fully answered; raises past the limit."""
        if self._arrived is None:
            raise RuntimeError("done() without arrived()")
        now = self._clock()
        self.lag_s = max(0.0, self.lag_s - audio_s - self._waited) + (now - self._arrived)
        self._idle_since, self._arrived = now, None
        if self.max_lag_s and self.lag_s > self.max_lag_s:
            raise ResourceExhausted(
                f"audio: the tokens of this stream are {self.lag_s:.1f} s behind real time "
                f"(the limit is {self.max_lag_s:g} s): the server is overloaded; retry later",
                retry_after_s=self._retry_after_s,
            )
