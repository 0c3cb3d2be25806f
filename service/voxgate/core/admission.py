"""Admission control: a cap on work in progress, refused at once beyond it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from voxgate.errors import ResourceExhausted


class Admission:
    """Counts calls in; refuses one when `limit` are already in progress.

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
                "retry later"
            )
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
