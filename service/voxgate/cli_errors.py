"""What the `voxgate` command tells a user when something is wrong: one line and an exit code.

Every failure a user can cause or fix (a missing file, a server that is not running, a port in
use, a request the server refused) becomes a `UserError` with one of the exit codes below, so
scripts can tell them apart and people never see a traceback for them.
"""

from __future__ import annotations

import enum
from pathlib import Path

import grpc


class Exit(enum.IntEnum):
    """The command's exit statuses (also listed in `voxgate --help`)."""

    OK = 0
    SOME_FAILED = 1  # a batch finished, but some of its files failed (see the summary)
    USAGE = 2  # bad command line (argparse's own status)
    NO_INPUT = 3  # an input file is missing, unreadable, or a folder without audio
    BAD_INPUT = 4  # an input file's content is wrong (e.g. ids that are not numbers)
    CANNOT_WRITE = 5  # an output file cannot be written
    UNREACHABLE = 6  # no voxgate server answers at the address
    REJECTED = 7  # the server answered with an error status (printed with its message)
    PORT_IN_USE = 8  # `serve`: the gRPC port is taken
    NOT_SERVING = 9  # `health`: the server (or the service asked about) is not serving
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)
    BROKEN_PIPE = 141  # stdout was closed early (`| head`; 128 + SIGPIPE)


EXIT_CODES_HELP = (
    "exit statuses: 0 ok, 1 some files of a batch failed, 2 bad command line, 3 input missing, "
    "4 input invalid, 5 output not writable, 6 server unreachable, 7 server refused the "
    "request, 8 port in use, 9 not serving, 130 interrupted"
)


class UserError(Exception):
    """A failure the user can act on: printed as one line, then the command exits with `code`."""

    def __init__(self, message: str, code: Exit) -> None:
        super().__init__(message)
        self.code = code


# What gRPC's own UNAVAILABLE says when no server answered (the service's UNAVAILABLE, e.g.
# models still loading, is the server's answer and is printed as such).
_SHORT_WHY = ("connection refused", "domain name not found", "socket closed", "timeout")
_NO_SERVER = ("failed to connect", "connection refused", "errors resolving", "socket closed")


def from_rpc(code: grpc.StatusCode, message: str, address: str) -> UserError:
    """A failed call as a UserError: 'not running' with a hint, or the server's own words."""
    if code is grpc.StatusCode.UNAVAILABLE and any(m in message.lower() for m in _NO_SERVER):
        why = next((w for w in _SHORT_WHY if w in message.lower()), "cannot connect")
        return UserError(
            f"no voxgate server at {address} ({why}); start one with "
            "`make serve`, or point at yours with --address HOST:PORT or VOXGATE_ADDR",
            Exit.UNREACHABLE,
        )
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return UserError(
            f"{address} did not answer in time ({message}); raise --timeout for long inputs",
            Exit.UNREACHABLE,
        )
    return UserError(f"{code.name}: {message}", Exit.REJECTED)


def read_input(path: Path) -> bytes:
    """The bytes of an input file, or a UserError saying why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file", Exit.NO_INPUT) from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a file", Exit.NO_INPUT) from None
    except PermissionError:
        raise UserError(f"{path}: permission denied", Exit.NO_INPUT) from None
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})", Exit.NO_INPUT) from None


def write_output(path: Path, data: bytes) -> None:
    """Writes an output file, or raises a UserError saying why it cannot be written."""
    try:
        path.write_bytes(data)
    except OSError as err:
        why = err.strerror or type(err).__name__
        raise UserError(f"cannot write {path}: {why}", Exit.CANNOT_WRITE) from None
