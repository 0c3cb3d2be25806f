"""Server-wide admission: caps on calls in progress, refused at once beyond them.

Four counters, checked together when a voxgate call starts (after authentication):
all calls, streaming calls (StreamTokenize, Synthesize, StreamSynthesize, Chat), calls of one
tenant, and streams on one client connection. A call over any cap gets RESOURCE_EXHAUSTED
with a google.rpc.RetryInfo delay, before it does any work, so the calls already admitted keep
the machine's whole capacity (a queued call on a saturated CPU would only time out, and slow
every other call down while it waits).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from voxgate.errors import ResourceExhausted

# Live StreamTokenize streams one core keeps real-time with the reference CPU models
# (bench/admission.py on the 2-core reference machine: 8 streams p95 61 ms after the
# look-ahead, 16 streams 3.1 s and growing: each costs ~0.11 cores plus queueing).
STREAMS_PER_CORE = 4


def default_max_streams() -> int:
    return STREAMS_PER_CORE * (len(os.sched_getaffinity(0)) or 1)


@dataclass(frozen=True)
class CallLimitSettings:
    max_calls: int = 64  # every voxgate call in progress
    max_streams: int = 0  # streaming calls in progress; 0 = STREAMS_PER_CORE per usable core
    max_calls_per_tenant: int = 0  # 0 = no cap of its own (the server's caps still apply)
    max_streams_per_connection: int = 32
    retry_after_s: float = 1.0  # the RetryInfo delay sent with a refusal


class CallLimits:
    """Counts calls in and out; `enter` raises ResourceExhausted or returns a release."""

    def __init__(self, settings: CallLimitSettings = CallLimitSettings()) -> None:
        self.settings = settings
        self.max_streams = settings.max_streams or default_max_streams()
        self.calls = 0
        self.streams = 0
        self.by_tenant: Counter[str] = Counter()
        self.by_connection: Counter[str] = Counter()

    def _refuse(self, what: str) -> ResourceExhausted:
        return ResourceExhausted(
            f"server busy: {what}; retry later", retry_after_s=self.settings.retry_after_s
        )

    def enter(self, streaming: bool, tenant: str, connection: str):
        """Admits one call (or raises); call the returned function when it ends."""
        s = self.settings
        if self.calls >= s.max_calls:
            raise self._refuse(f"{self.calls} calls in progress (the limit is {s.max_calls})")
        if streaming and self.streams >= self.max_streams:
            raise self._refuse(
                f"{self.streams} streams in progress (the limit is {self.max_streams})"
            )
        if tenant and s.max_calls_per_tenant and self.by_tenant[tenant] >= s.max_calls_per_tenant:
            raise self._refuse(
                f"tenant {tenant!r} has {self.by_tenant[tenant]} calls in progress "
                f"(its limit is {s.max_calls_per_tenant})"
            )
        if (
            streaming
            and s.max_streams_per_connection
            and self.by_connection[connection] >= s.max_streams_per_connection
        ):
            raise self._refuse(
                f"{self.by_connection[connection]} streams open on this connection "
                f"(the limit is {s.max_streams_per_connection}; or open another connection)"
            )
        self.calls += 1
        self.streams += streaming
        self.by_tenant[tenant] += 1
        if streaming:
            self.by_connection[connection] += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self.calls -= 1
            self.streams -= streaming
            _decrement(self.by_tenant, tenant)
            if streaming:
                _decrement(self.by_connection, connection)

        return release


def _decrement(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]  # a counter per departed client would grow without bound
