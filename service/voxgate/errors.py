"""Domain exceptions. The interceptor maps each class to one gRPC status code."""

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


class OutOfRange(VoxgateError):
    """The request is well-formed but exceeds a limit (duration, token count)."""


class ModelUnavailable(VoxgateError):
    """The model server is not reachable or not ready; the client may retry."""


class ModelFailed(VoxgateError):
    """The model server rejected or failed a request it should have handled."""


class Unimplemented(VoxgateError):
    """The RPC is part of the API but no model on this server provides it."""
