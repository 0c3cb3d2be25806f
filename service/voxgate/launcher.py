"""Start a local `voxgate serve` in a child process and wait until it is ready.

The one implementation of "start a voxgate, wait for it, stop it" that `voxgate with-server`,
the benchmarks, `scripts/make_vectors.py` and the tests share:

    from voxgate.client import VoxgateClient
    from voxgate.launcher import local_server

    with local_server("--log-level", "warning") as server:   # any `voxgate serve` options
        with VoxgateClient(server.address) as client:
            client.tokenize_file("speech.wav")
    # stopped here: SIGTERM, then SIGKILL of its process group after `stop_grace_s`

The child runs `[sys.executable, "-m", "voxgate.cli", "serve", "--port", "0", "--ready-file", F,
*serve_args]` (so it uses this interpreter's voxgate; a later `--port` in `serve_args` wins),
in a session of its own with its stdout and stderr in a log file. The server writes F (JSON
`{"address", "port"}`) once grpc.health.v1 reports SERVING, i.e. once its embedded Triton has
loaded every model. If the child exits first, or `start_timeout_s` passes, the launcher stops it
and raises `ServerStartError` carrying the last lines of the log.

`async_local_server` is the same for asyncio code (the blocking parts run in a thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

__all__ = [
    "LocalServer",
    "ServerStartError",
    "async_local_server",
    "local_server",
    "serve_command",
    "start",
]

DEFAULT_START_TIMEOUT_S = 180.0
DEFAULT_STOP_GRACE_S = 30.0
LOG_TAIL_LINES = 40
_POLL_S = 0.1
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}


class ServerStartError(RuntimeError):
    """The server exited, or was not ready in time (and was stopped).

    `log_tail` holds the end of its log, `pid` its process id.
    """

    def __init__(self, message: str, log_tail: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.log_tail = log_tail
        self.pid = pid

    def __str__(self) -> str:
        return f"{self.args[0]}; server log (last lines):\n{self.log_tail}"


class LocalServer:
    """A `voxgate serve` child process started by `start()` / `local_server()`.

    Attributes: `address` ("host:port" to connect to), `port`, `pid`, `log_path`; after `stop()`:
    `returncode`, `exited_early` (it had exited before `stop()` was called) and `killed` (it did
    not exit within the grace period after SIGTERM and its process group got SIGKILL).
    """

    def __init__(
        self,
        process: subprocess.Popen,
        log_path: Path,
        workdir: Path | None,
        stop_grace_s: float,
    ) -> None:
        self.process = process
        self.pid = process.pid
        self.log_path = log_path
        self.address = ""
        self.port = 0
        self.stop_grace_s = stop_grace_s
        self.exited_early = False
        self.killed = False
        self._workdir = workdir  # a temporary folder of ours, removed by stop()
        self._final_tail: str | None = None
        self._stopped = False

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self.returncode}"
        return f"LocalServer(address={self.address!r}, pid={self.pid}, {state})"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal); None while it runs."""
        return self.process.poll()

    @property
    def stopped_cleanly(self) -> bool:
        """True after `stop()` if it was still running, then exited 0 on SIGTERM."""
        return self._stopped and not self.exited_early and not self.killed and self.returncode == 0

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last `lines` lines of the server's stdout and stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return self._final_tail or ""
        return "\n".join(text.rstrip("\n").splitlines()[-lines:])

    def stop(self, grace_s: float | None = None) -> int | None:
        """Stops the server and returns its exit status; calling it again does nothing.

        SIGTERM first (the server stops its embedded Triton itself), then, after `grace_s`
        (default: the `stop_grace_s` it was started with), SIGKILL to its whole process group,
        which also ends a Triton it left behind.
        """
        if self._stopped:
            return self.returncode
        self._stopped = True
        grace = self.stop_grace_s if grace_s is None else grace_s
        if self.process.poll() is not None:
            self.exited_early = True
        else:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.killed = True
                _kill_group(self.pid)
                self.process.wait()
        _reap_group(self.pid, grace_s=5.0)
        self._final_tail = self.log_tail()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        return self.returncode

    def _wait_ready(self, ready_file: Path, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            info = _read_ready_file(ready_file)
            if info is not None:
                self.port = int(info.get("port") or 0)
                host, _, port = str(info.get("address") or f":{self.port}").rpartition(":")
                self.port = self.port or int(port)
                if host in _WILDCARD_HOSTS:
                    host = "127.0.0.1"
                self.address = f"{host}:{self.port}"
                return
            code = self.process.poll()
            if code is not None:
                raise ServerStartError(
                    f"voxgate serve exited with {_describe(code)} before it was ready",
                    self.log_tail(),
                    self.pid,
                )
            if time.monotonic() >= deadline:
                raise ServerStartError(
                    f"voxgate serve was not ready after {timeout_s:g} s", self.log_tail(), self.pid
                )
            time.sleep(_POLL_S)


def serve_command(ready_file: str | os.PathLike, serve_args: tuple[str, ...] = ()) -> list[str]:
    """The argv the launcher runs: this interpreter's `voxgate serve` on a free port."""
    return [
        sys.executable,
        "-m",
        "voxgate.cli",
        "serve",
        "--port",
        "0",
        "--ready-file",
        str(ready_file),
        *serve_args,
    ]


def _names_state(serve_args: tuple[str, ...], env: Mapping[str, str]) -> bool:
    """Whether the caller chose where the server keeps its state."""
    flags = ("--data-dir", "--voices-db")
    given = any(a == f or a.startswith(f + "=") for a in serve_args for f in flags)
    return given or bool(env.get("VOXGATE_DATA_DIR") or env.get("VOXGATE_VOICES_DB"))


def start(
    *serve_args: str,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    log_path: str | os.PathLike | None = None,
    stop_grace_s: float = DEFAULT_STOP_GRACE_S,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> LocalServer:
    """Starts `voxgate serve` and returns once it is SERVING; the caller must `stop()` it.

    `serve_args`: further `voxgate serve` options (`"--log-level", "warning"`, ...).
    `log_path`: where its output goes (kept); default: a temporary file removed by `stop()`.
    `env`: the child's environment (default: this process's). Raises `ServerStartError`.
    Unless `--data-dir`/`--voices-db` (or their VOXGATE_ variables) say otherwise, the server's
    state lives in a temporary folder removed by `stop()`.
    """
    workdir = Path(tempfile.mkdtemp(prefix="voxgate-server-"))
    ready_file = workdir / "ready.json"
    child_env = dict(os.environ if env is None else env)
    if not _names_state(serve_args, child_env):
        # A fresh server keeps its state (the voice registry) in its own temporary folder,
        # removed with it, so tests and benchmarks never touch the user's data directory.
        serve_args = (*serve_args, f"--data-dir={workdir / 'data'}")
    log = Path(log_path) if log_path is not None else workdir / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "wb") as out:
            process = subprocess.Popen(
                serve_command(ready_file, serve_args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=child_env,
                cwd=cwd,
                start_new_session=True,  # its own process group: see LocalServer.stop
            )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    server = LocalServer(process, log, workdir, stop_grace_s)
    try:
        server._wait_ready(ready_file, start_timeout_s)
    except BaseException:  # also Ctrl-C / SystemExit while waiting: never leave it running
        server.stop(grace_s=min(stop_grace_s, 10.0))
        raise
    return server


@contextlib.contextmanager
def local_server(
    *serve_args: str,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    log_path: str | os.PathLike | None = None,
    stop_grace_s: float = DEFAULT_STOP_GRACE_S,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> Iterator[LocalServer]:
    """`start()` as a context manager: yields the ready `LocalServer`, stops it on exit.

    Leaving the block does not raise for a server that died or had to be killed; check
    `server.stopped_cleanly` / `server.returncode` / `server.log_tail()` afterwards.
    """
    server = start(
        *serve_args,
        start_timeout_s=start_timeout_s,
        log_path=log_path,
        stop_grace_s=stop_grace_s,
        env=env,
        cwd=cwd,
    )
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def async_local_server(
    *serve_args: str,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    log_path: str | os.PathLike | None = None,
    stop_grace_s: float = DEFAULT_STOP_GRACE_S,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
) -> AsyncIterator[LocalServer]:
    """`local_server` for asyncio code: starting and stopping run in a worker thread."""
    server = await asyncio.to_thread(
        start,
        *serve_args,
        start_timeout_s=start_timeout_s,
        log_path=log_path,
        stop_grace_s=stop_grace_s,
        env=env,
        cwd=cwd,
    )
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


def _read_ready_file(path: Path) -> dict | None:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # not there yet (the server writes it atomically, but be lenient)
    if not isinstance(info, dict) or not (info.get("address") or info.get("port")):
        return None
    return info


def _describe(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
    return f"status {code}"


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _reap_group(pgid: int, grace_s: float) -> None:
    """Waits up to `grace_s` for processes left in the server's group (its Triton), then kills."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(_POLL_S)
    _kill_group(pgid)
