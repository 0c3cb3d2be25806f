"""Which services a deployment can serve, from the models its model server holds."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Availability(enum.Enum):
    """A service's state in one deployment."""

    ABSENT = "absent"  # a model it needs is not in the repository: UNIMPLEMENTED
    NOT_READY = "not_ready"  # its models exist but are loading, failed, or the server is down
    READY = "ready"


@dataclass(frozen=True)
class Deployment:
    """A snapshot of the model repository: model name -> ready.

    `known` is False until the model server has answered once; until then no service is called
    absent (it may simply not have started yet).
    """

    models: Mapping[str, bool] = field(default_factory=dict)
    known: bool = False
    reachable: bool = False

    @classmethod
    def unknown(cls) -> Deployment:
        return cls()

    def unreachable(self) -> Deployment:
        """The same repository, with the model server not answering: nothing is ready."""
        return Deployment({name: False for name in self.models}, self.known, False)

    def availability(self, required: tuple[str, ...]) -> Availability:
        """ABSENT if a required model is missing from a known repository, else READY only
        when every required model is ready (a service that needs no model is always READY)."""
        if not required:
            return Availability.READY
        if self.known and any(name not in self.models for name in required):
            return Availability.ABSENT
        if self.reachable and all(self.models.get(name, False) for name in required):
            return Availability.READY
        return Availability.NOT_READY
