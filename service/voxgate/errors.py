"""Domain exceptions. The interceptor maps each class to one gRPC status code."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request, reported as a google.rpc.BadRequest detail."""

    field: str
    description: str


class VoxgateError(Exception):
    """Base of every error whose message is safe to show to the client."""

    def __init__(self, message: str, *, violations: tuple[FieldViolation, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.violations = violations


class InvalidArgument(VoxgateError):
    """The request is malformed: bad audio, bad format, bad tokens."""


class OutOfRange(VoxgateError):
    """The request is well-formed but exceeds a limit (duration, token count)."""


class ModelUnavailable(VoxgateError):
    """The model server is not reachable or not ready; the client may retry."""


class ModelFailed(VoxgateError):
    """The model server rejected or failed a request it should have handled."""


class Unimplemented(VoxgateError):
    """The RPC is part of the API but no model on this server provides it."""


@dataclass
class _Collector:
    """Collects field violations so a request reports all its problems at once."""

    violations: list[FieldViolation] = field(default_factory=list)

    def add(self, field_name: str, description: str) -> None:
        self.violations.append(FieldViolation(field_name, description))

    def raise_if_any(self, summary: str) -> None:
        if self.violations:
            detail = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
            raise InvalidArgument(f"{summary}: {detail}", violations=tuple(self.violations))
