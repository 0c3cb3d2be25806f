"""Domain exceptions. The interceptor maps each class (or its nearest mapped base) to a status.

Raise the most specific class that fits; subclass one of these for a new kind of failure and it
inherits its status code (a subclass of InvalidArgument is INVALID_ARGUMENT).
"""

from __future__ import annotations

from dataclasses import dataclass


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
    """The request is malformed: bad audio, bad format, bad tokens.

    A message of the form "field.path: what is wrong" also becomes a field violation.
    """

    def __init__(self, message: str, *, violations: tuple[FieldViolation, ...] = ()) -> None:
        field_path, sep, description = message.partition(": ")
        if not violations and sep and " " not in field_path:
            violations = (FieldViolation(field_path, description),)
        super().__init__(message, violations=violations)


class MalformedMessage(InvalidArgument):
    """The bytes on the wire do not parse as the RPC's protobuf request message."""


class OutOfRange(VoxgateError):
    """The request is well-formed but exceeds a limit (duration, token count)."""


class NotFound(VoxgateError):
    """The request names something (a voice, a model) that does not exist."""


class ResourceExhausted(VoxgateError):
    """Too much work in progress to take this call now; the client may retry later.

    `retry_after_s`, when given, goes to the client as a google.rpc.RetryInfo detail.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class FailedPrecondition(VoxgateError):
    """The request is valid but the system is not in a state to carry it out."""


class ModelUnavailable(VoxgateError):
    """The model server is not reachable or not ready; the client may retry."""


class DeadlineExceeded(VoxgateError):
    """The call's deadline passed while a model was still working on it."""


class Cancelled(VoxgateError):
    """The work was cancelled (by the client, or by the model server shutting down)."""


class ModelFailed(VoxgateError):
    """The model server rejected or failed a request it should have handled."""


class Unimplemented(VoxgateError):
    """The RPC is part of the API but no model on this server provides it."""
