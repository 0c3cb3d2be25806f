"""Admission control: a cap on work in progress, refused at once beyond it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from voxgate.errors import ResourceExhausted

# The RetryInfo delay of a refusal, as the server-wide caps send (call_limits).
RETRY_AFTER_S = 1.0


class Admission:
    """Counts calls in; refuses one when `limit` are already in progress.

    A use case's own cap (syntheses, conversations), inside the server-wide ones of
    `voxgate.call_limits` that every call passes first.

    Refusing at once beats queueing: on a saturated CPU a queued call would only time out.
    """

    def __init__(self, limit: int, what: str, unit: str) -> None:
        self.limit = limit
        self.active = 0
        self._what, self._unit = what, unit

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        if self.active >= self.limit:
            raise ResourceExhausted(
                f"{self._what}: {self.active} {self._unit} in progress, the server's limit; "
                "retry later",
                retry_after_s=RETRY_AFTER_S,
            )
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
