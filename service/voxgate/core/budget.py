"""A budget for the decoded audio that requests in flight hold in memory.

Every request that decodes or renders audio holds a share (`AudioBudget.hold()`), sized from
what the headers declare before anything is decoded and grown as decoding goes; the share is
returned when the request ends, however it ends. A request whose share would take the total
past the limit is refused at once: RESOURCE_EXHAUSTED with a retry delay while others hold
the memory, OUT_OF_RANGE when it alone needs more than the whole budget.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from types import TracebackType

from voxgate.errors import Cancelled, OutOfRange, ResourceExhausted

MIB = 1024 * 1024
RETRY_AFTER_S = 1.0  # what a refused client is told to wait (google.rpc.RetryInfo)
# After a share this large is given back, free heap pages go back to the system: glibc keeps
# freed blocks of up to 32 MiB in its heap (a stream's 1 MiB messages, a decode's blocks), and
# the process's RSS would stay at its peak.
TRIM_AFTER_BYTES = 16 * MIB


def _malloc_trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _mib(n: int) -> str:
    return f"{n / MIB:.1f} MiB"


class AudioBudget:
    """Bytes of decoded audio held by requests in flight, at most `limit_bytes` in all.

    Thread-safe: decoding runs in worker threads and grows its share from there.
    """

    def __init__(self, limit_bytes: int) -> None:
        self.limit = int(limit_bytes)
        self.held = 0
        self.peak = 0
        self._lock = threading.Lock()

    def hold(self, what: str = "request") -> Hold:
        """An empty share for one request; use it as a context manager (released on exit)."""
        return Hold(self, what)

    def _grow(self, hold: Hold, nbytes: int) -> None:
        with self._lock:
            more = int(nbytes) - hold.nbytes
            if more <= 0:
                return
            if hold.closed:  # a decode thread outliving its cancelled call: stop it
                raise Cancelled(f"{hold.what}: the request has ended")
            if nbytes > self.limit:
                raise OutOfRange(
                    f"{hold.what}: needs {_mib(nbytes)} of decoded audio, more than the "
                    f"server's {_mib(self.limit)} budget"
                )
            if self.held + more > self.limit:
                raise ResourceExhausted(
                    f"{hold.what}: the server is holding {_mib(self.held)} of decoded audio for "
                    f"requests in flight and this one needs {_mib(more)} more (budget "
                    f"{_mib(self.limit)}); retry later",
                    retry_after_s=RETRY_AFTER_S,
                )
            self.held += more
            self.peak = max(self.peak, self.held)
            hold.nbytes += more

    def _close(self, hold: Hold) -> None:
        with self._lock:
            hold.closed = True
            released, hold.nbytes = hold.nbytes, 0
            self.held -= released
        if released >= TRIM_AFTER_BYTES:
            _malloc_trim()


class Hold:
    """One request's share of an AudioBudget (a context manager: released on exit)."""

    def __init__(self, budget: AudioBudget, what: str) -> None:
        self._budget = budget
        self.what = what
        self.nbytes = 0
        self.closed = False

    def ensure(self, nbytes: int) -> None:
        """Grows the share to at least `nbytes` (raises, taking nothing, if it cannot)."""
        self._budget._grow(self, nbytes)

    def add(self, nbytes: int) -> None:
        self.ensure(self.nbytes + nbytes)

    def release(self) -> None:
        """Returns the whole share and ends the hold (it takes nothing more)."""
        self._budget._close(self)

    def __enter__(self) -> Hold:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def unlimited() -> AudioBudget:
    """A budget that never refuses (tools, tests, and use cases built without one)."""
    return AudioBudget(1 << 62)
