"""Starts and supervises the embedded `tritonserver` shipped by the nvidia-pytriton wheel.

What one run of the embedded server owns, and how it is given back:

- a private folder (0700) under `run_dir`: the backends, Triton's log and its gRPC socket;
- processes: tritonserver starts in a session (and process group) of its own, which the
  Python-backend stubs it forks stay in; each launch also marks its environment
  (`VOXGATE_TRITON_RUN=<run>-<launch>`), which every process it spawns inherits, so that one
  that left the group is found as well;
- shared memory: the Python-based backends name their regions `voxgate-<run>-<launch>-*`
  (`--backend-config=<backend>,shm-region-prefix-name=`); `ShmGuard` makes them 0600.

When a launch ends (crash, kill, restart, stop) its group and every process carrying its mark
are SIGKILLed, and once they are gone its regions are unlinked. A restart waits for that.

Locked: gRPC listens on a Unix socket in the private folder (loopback TCP when the path is too
long for a socket address), every gRPC protocol Triton offers requires the run's secret header
(`--grpc-restricted-protocol`; clients find it through `triton_auth`), HTTP is off, metrics
listen on loopback (read only), the server and its stubs run with umask 077, and the shared-
memory regions are made 0600 as they appear (`ShmGuard`: Boost sets 0644 whatever the umask).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import sys
import sysconfig
import tempfile
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from voxgate import triton_auth
from voxgate.logs import get_logger

log = get_logger(__name__)
triton_log = get_logger("tritonserver")
# Triton's glog prefix: I/W/E, then date, time, thread, file:line]
_TRITON_LINE = re.compile(rb"^([IWEF])\d{4} [\d:.]+\s+\d+ ([^\]]+)\] ?(.*)$")
_TRITON_LEVELS = {b"I": "debug", b"W": "warning", b"E": "error", b"F": "critical"}
# What every start of the CPU configs prints on a machine without a GPU, as warnings and
# errors, and that needs no action: kept at debug (with the gpu configs they are real).
CPU_ONLY_NOISE = (
    b"failed to allocate pinned system memory",
    b"CudaDriverHelper has not been initialized",
    b"unable to create stream for",
    b"CUDA driver version is insufficient",
    b"DCGM unable to start",
)
# Printed once the models are loaded and the endpoint is up: the launch served.
_SERVING_LINE = b"Started GRPCInferenceService"

RUN_DIR_PREFIX = "voxgate-"
_LOCK_NAME = ".lock"

RUN_ENV = "VOXGATE_TRITON_RUN"  # in the server's environment: `<run>-<launch>`
SHM_DIR = Path("/dev/shm")
SHM_PREFIX = "voxgate-"  # then `<run>-<launch>-<backend>-`, then the backend's own uuid
# Triton's restricted-protocol key: clients send `triton-grpc-protocol-<key>: <secret>`.
AUTH_KEY = "voxgate-key"
AUTH_HEADER = "triton-grpc-protocol-" + AUTH_KEY
# Every protocol group of Triton 2.51's gRPC endpoint (`tritonserver --help`).
RESTRICTED_PROTOCOLS = (
    "health",
    "metadata",
    "inference",
    "shared-memory",
    "model-config",
    "model-repository",
    "statistics",
    "trace",
    "logging",
)
# Triton binds `<grpc-address>:<grpc-port>`; for a Unix socket that is the file's name.
_SOCKET_NAME = "grpc:1"
_MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes with its terminating NUL
RESTART_DELAY_S = 0.5  # before restarting a server that had served (or run STABLE_S)
MAX_RESTART_DELAY_S = 30.0  # doubling up to this for one that died before serving
STABLE_S = 30.0
_GONE_TIMEOUT_S = 10.0  # SIGKILLed processes not gone after this are logged, not waited for


def run_id(run_dir: Path) -> str:
    """The random part of a private folder's name (`voxgate-<run>`): no `-` in it."""
    return run_dir.name.removeprefix(RUN_DIR_PREFIX)


def shm_prefix(run: str, launch: int | None = None) -> str:
    """The names of a run's shared-memory regions start with this (of one launch, if given)."""
    return f"{SHM_PREFIX}{run}-" if launch is None else f"{SHM_PREFIX}{run}-{launch}-"


def _mark(run: str, launch: int | None = None) -> bytes:
    """What /proc/<pid>/environ (with a NUL in front) contains for a process of the run
    (of one launch, if given)."""
    tail = "" if launch is None else f"{launch}\0"
    return f"\0{RUN_ENV}={run}-{tail}".encode()


def shm_regions(prefix: str) -> list[str]:
    """Names in /dev/shm starting with `prefix`."""
    try:
        return sorted(e.name for e in os.scandir(SHM_DIR) if e.name.startswith(prefix))
    except OSError:
        return []


def remove_shm_regions(prefix: str) -> list[str]:
    removed = []
    for name in shm_regions(prefix):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(SHM_DIR / name)
            removed.append(name)
    return removed


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    state: str  # R, S, D, T, Z, ...
    ppid: int
    pgid: int


def process_table() -> list[ProcessInfo]:
    """Every process, from /proc/<pid>/stat."""
    table = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        table.append(
            ProcessInfo(int(entry.name), fields[0].decode(), int(fields[1]), int(fields[2]))
        )
    return table


def _environ(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return b"\0" + f.read()
    except OSError:  # gone, or another user's
        return b""


def run_processes(run: str, launch: int | None = None, group: int | None = None) -> list[int]:
    """Live processes (zombies left out) of a run (of one launch, if given): those carrying its
    mark, and those in process group `group`. Never this process."""
    mark, me = _mark(run, launch), os.getpid()
    return [
        p.pid
        for p in process_table()
        if p.pid != me
        and p.state not in ("Z", "X")
        and (p.pgid == group or mark in _environ(p.pid))
    ]


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _reap_adopted(group: int) -> None:
    """Reaps zombies of `group` that are this process's children: stubs orphaned by their
    server are adopted by the nearest subreaper, which is voxgate when it runs as PID 1."""
    me = os.getpid()
    for p in process_table():
        if p.ppid == me and p.pgid == group and p.state == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p.pid, os.WNOHANG)


def kill_run(run: str, launch: int | None = None, group: int | None = None) -> list[int]:
    """SIGKILLs process group `group` and every process of the run (launch); returns the pids
    of the run's processes that were alive."""
    pids = run_processes(run, launch, group)
    if group is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    _kill(pids)
    return pids


def default_backend_sources() -> Path:
    """The repository's `triton_backends/`, next to `service/` in a source checkout (found the
    same way as `config.default_model_repository()`)."""
    return Path(__file__).resolve().parents[2] / "triton_backends"


@dataclass(frozen=True)
class TritonInstall:
    """Where the wheel put the server binary, its libraries and the Python backend."""

    binary: Path
    libs: Path
    python_backend: Path
    stub: Path

    @classmethod
    def find(cls) -> TritonInstall:
        import pytriton

        root = Path(pytriton.__file__).parent / "tritonserver"
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        install = cls(
            binary=root / "bin" / "tritonserver",
            libs=Path(pytriton.__file__).parent.parent / "nvidia_pytriton.libs",
            python_backend=root / "backends" / "python",
            stub=root / "python_backend_stubs" / version / "triton_python_backend_stub",
        )
        for path in (install.binary, install.python_backend, install.stub):
            if not path.exists():
                raise FileNotFoundError(f"tritonserver install incomplete: {path} missing")
        return install


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the server binds it right after)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def prepare_backends(install: TritonInstall, run_dir: Path, sources: Path | None = None) -> Path:
    """Fills `run_dir/backends`: python/ (the Python backend library and this Python's stub)
    and one folder per Python-based backend of `sources` (each a folder holding model.py).

    Triton 2.51 refuses a Python-based backend whose libtriton_python.so resolves outside the
    backend directory, so the library is hard-linked (or copied), never symlinked.
    """
    sources = default_backend_sources() if sources is None else sources
    backends = run_dir / "backends"
    python = backends / "python"
    python.mkdir(parents=True, exist_ok=True)
    library = install.python_backend / "libtriton_python.so"
    for src in (library, install.python_backend / "triton_python_backend_utils.py", install.stub):
        dest = python / src.name
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        if src == library:
            try:
                os.link(src, dest)
            except OSError:  # another file system, or links not allowed
                shutil.copy2(src, dest)
        else:
            dest.symlink_to(src)
    found = sorted(p.parent for p in sources.glob("*/model.py"))
    if not found:
        raise FileNotFoundError(f"no Triton Python-based backend (*/model.py) in {sources}")
    for folder in found:
        dest = backends / folder.name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(folder, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return backends


def _holds_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def create_run_dir(parent: Path, run: str | None = None) -> tuple[Path, int]:
    """A new private folder (0700) `parent/voxgate-<run>` (a random run id if none is given)
    and the open descriptor of its lock file.

    The lock (flock) is held as long as the owning process lives; a folder whose lock nobody
    holds belongs to a process that died without cleaning up (SIGKILL) and is removed here.
    """
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_run_dirs(parent)
    if run is None:
        path = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX, dir=parent))
    else:
        path = parent / (RUN_DIR_PREFIX + run)
        path.mkdir(mode=0o700)  # FileExistsError: taken (a run id is random: never twice)
    os.chmod(path, 0o700)  # stated, whatever the umask: the socket and the log live here
    # Locked before it gets the name other instances look for, so none can take it meanwhile.
    fd = os.open(path / (_LOCK_NAME + ".new"), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    if not _holds_lock(fd):  # pragma: no cover - a fresh file nobody else knows of
        os.close(fd)
        raise RuntimeError(f"cannot lock {path}")
    os.replace(path / (_LOCK_NAME + ".new"), path / _LOCK_NAME)
    return path, fd


def remove_stale_run_dirs(parent: Path) -> list[Path]:
    """Removes run folders under `parent` whose owner is gone (lock file present, unlocked),
    with what is left of their runs: processes carrying their mark, shared-memory regions."""
    removed = []
    for path in parent.glob(RUN_DIR_PREFIX + "*"):
        lock = path / _LOCK_NAME
        try:  # a folder without a lock file may be one that is being created: leave it
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if _holds_lock(fd):
                run = run_id(path)
                kill_run(run)
                remove_shm_regions(shm_prefix(run))
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        finally:
            os.close(fd)
    if removed:
        log.info("triton_run_dirs_removed", stale=[str(p) for p in removed])
    return removed


def _remove_run_dir(path: Path, fd: int) -> None:
    """Deletes a run folder, then releases its lock (also called at interpreter exit)."""
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.close(fd)


def python_libdir() -> str:
    """The folder of this interpreter's libpython, when it is a shared library there.

    The Python-backend stub links `libpython3.X.so.1.0` and then imports this interpreter's
    standard library and packages; found first, the system's libpython (e.g. Debian's 3.11.2 beside
    a pyenv 3.11.7) lacks symbols that this interpreter's C extensions use (`_ssl`:
    `_PyModule_Add`), and `import ssl` (so transformers) failed in the stub.
    """
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    name = sysconfig.get_config_var("INSTSONAME") or ""
    return libdir if libdir and name and (Path(libdir) / name).exists() else ""


def child_environment(install: TritonInstall) -> dict[str, str]:
    """Explicit environment: the stub finds this interpreter's packages through PATH."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "/usr/bin:/bin")])
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in [python_libdir(), str(install.libs), env.get("LD_LIBRARY_PATH", "")] if p
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


_IN_ATTRIB, _IN_CREATE, _IN_MOVED_TO = 0x4, 0x100, 0x80
_IN_NONBLOCK, _IN_CLOEXEC = os.O_NONBLOCK, os.O_CLOEXEC
_EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


class ShmGuard:
    """Keeps a run's shared-memory regions private (0600) while the server runs.

    The umask does not reach them: the Python backend creates them through Boost.Interprocess,
    which fchmods a new region to its permissions (0644) right after creating it. An inotify
    watch on /dev/shm hears the creation and that fchmod, and takes the group and others'
    bits away at once (the region's owner is this user). Until then, a fraction of a
    millisecond after its creation and before the stub exists, a region is readable.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.fixed = 0  # regions whose mode was changed
        self._fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
            if (
                fd < 0
                or libc.inotify_add_watch(
                    fd, bytes(SHM_DIR), _IN_CREATE | _IN_ATTRIB | _IN_MOVED_TO
                )
                < 0
            ):
                if fd >= 0:
                    os.close(fd)
                raise OSError(ctypes.get_errno(), "inotify")
        except (OSError, AttributeError) as err:
            log.warning("shm_guard_unavailable", error=str(err), effect="regions stay 0644")
            return
        self._fd, self._loop = fd, asyncio.get_running_loop()
        self._loop.add_reader(fd, self._read)
        self.sweep()

    def sweep(self) -> None:
        """Makes every region of the run private (those created before the watch began)."""
        for name in shm_regions(self.prefix):
            self._fix(name)

    def _read(self) -> None:
        try:
            data = os.read(self._fd, 64 * 1024) if self._fd is not None else b""
        except BlockingIOError:
            return
        offset = 0
        while offset + _EVENT.size <= len(data):
            _, _, _, size = _EVENT.unpack_from(data, offset)
            name = data[offset + _EVENT.size : offset + _EVENT.size + size].rstrip(b"\0")
            offset += _EVENT.size + size
            if name.startswith(self.prefix.encode()):
                self._fix(name.decode(errors="replace"))

    def _fix(self, name: str) -> None:
        path = SHM_DIR / name
        with contextlib.suppress(OSError):  # gone meanwhile
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
                self.fixed += 1

    def stop(self) -> None:
        if self._fd is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None


def _with_parent_death_signal(args: list[str]) -> list[str]:
    """Prefixes `setpriv --pdeathsig TERM`, so the server dies if this process is killed.

    Not a `preexec_fn`: Python code between fork and exec in a process with gRPC threads is
    unsafe (CI saw a launch fail there twice), and without one the child is spawned by vfork.
    `setpriv` is util-linux, present on every Debian; without it only the signal is lost.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        log.warning("setpriv_missing", effect="tritonserver outlives a SIGKILLed voxgate")
        return args
    return [setpriv, "--pdeathsig", "TERM", *args]


async def _forward_log(
    read_fd: int,
    path: Path,
    quiet: tuple[bytes, ...] = (),
    on_serving: Callable[[], object] | None = None,
) -> None:
    """Triton's output -> its log file (kept for `log_tail`) and voxgate's structured log:
    warnings and errors at their level, the rest at debug (`--log-level debug` shows it).
    `on_serving` is called when Triton says its endpoint is up (its models are loaded)."""
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=1024 * 1024)
    pipe = os.fdopen(read_fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
    try:
        await _copy_lines(stream, path, quiet, on_serving)
    finally:
        transport.close()


async def _copy_lines(
    stream: asyncio.StreamReader,
    path: Path,
    quiet: tuple[bytes, ...],
    on_serving: Callable[[], object] | None = None,
) -> None:
    with open(path, "ab") as logfile:
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line longer than the limit: take it in pieces
                line = await stream.read(64 * 1024)
            if not line:
                return
            logfile.write(line)
            logfile.flush()
            if on_serving is not None and _SERVING_LINE in line:
                on_serving()
            match = _TRITON_LINE.match(line.rstrip(b"\r\n"))
            if match:
                level, where, text = match.groups()
                if level in b"WE" and any(n in text for n in quiet):
                    level = b"I"
                emit = getattr(triton_log, _TRITON_LEVELS[level])
                emit("triton_log", line=text.decode(errors="replace"), at=where.decode())
            elif line.strip():
                triton_log.debug("triton_log", line=line.rstrip().decode(errors="replace"))


@dataclass(eq=False)
class Launch:
    """One start of the server process, and how it ended."""

    number: int  # 1, 2, ... within the run
    process: asyncio.subprocess.Process
    started_at: float  # time.monotonic()
    served_at: float | None = None  # when its endpoint came up (models loaded)
    ended_at: float | None = None
    code: int | None = None
    killed: int = 0  # its processes still alive after it ended, then killed (stubs)
    regions: int = 0  # its shared-memory regions still there after it ended, then unlinked
    forwarder: asyncio.Task | None = None
    cleaned: bool = False  # its leftovers removed


class _RunCleanup:
    """Gives back what a run holds: called by `stop()`, or at interpreter exit if that never
    ran (holds no reference to the instance, so that the instance can be collected)."""

    def __init__(self, path: Path, fd: int, url: str) -> None:
        self.path, self.fd, self.url = path, fd, url
        self.group: int | None = None  # the current launch's process group

    def __call__(self) -> None:
        run = run_id(self.path)
        triton_auth.forget(self.url)
        kill_run(run, group=self.group)
        remove_shm_regions(shm_prefix(run))
        _remove_run_dir(self.path, self.fd)


class EmbeddedTriton:
    """One supervised tritonserver, locked to this process; restarted if it dies.

    Each instance works in a private folder created under `run_dir` at start (its backend
    folder, Triton's log and gRPC socket), so instances never touch each other's files; `stop()`
    removes it, and so does interpreter exit if `stop()` was never called. Folders left behind
    by a killed process are removed, with their processes and regions, by the next instance
    that starts under the same `run_dir`.

    When the server process exits, the listeners of `on_exit` hear it at once, the launch's
    remaining processes and regions are removed, and it is started again: after
    `restart_delay_s` if it had served (or run `stable_s`), doubling up to `max_restart_delay_s`
    for each launch in a row that died before serving.
    """

    def __init__(
        self,
        model_repository: Path,
        model_config_name: str,
        run_dir: Path,
        *,
        restart_delay_s: float = RESTART_DELAY_S,
        max_restart_delay_s: float = MAX_RESTART_DELAY_S,
        stable_s: float = STABLE_S,
        models: list[str] | None = None,
    ) -> None:
        self.install = TritonInstall.find()
        # Load only these (Triton's explicit model control); None = the whole repository.
        self.models = models
        self.model_repository = model_repository
        self.model_config_name = model_config_name
        self.parent_dir = run_dir
        self.restart_delay_s = restart_delay_s
        self.max_restart_delay_s = max_restart_delay_s
        self.stable_s = stable_s
        self.run_dir: Path | None = None  # the private folder, while started
        self.log_path: Path | None = None
        self.grpc_port = free_port()  # used when the socket path would be too long
        self.metrics_port = free_port()  # Triton's Prometheus endpoint, loopback only
        self.secret: str | None = None  # per start: required by every gRPC protocol
        self.launches = 0
        self.restarts = 0
        self.restart_delays: list[float] = []  # the wait before each restart
        self.history: list[Launch] = []  # the launches of this run (the last 100)
        # Known before start (a server may be built on the URL first): the run id names the
        # private folder, and the gRPC socket is in it (TCP when the path is too long).
        self._run = secrets.token_hex(6)
        self._socket: Path | None = Path(run_dir).absolute() / (RUN_DIR_PREFIX + self._run)
        self._socket /= _SOCKET_NAME
        self._url = f"unix:{self._socket}"
        if len(str(self._socket)) > _MAX_SOCKET_PATH:
            self._socket, self._url = None, f"127.0.0.1:{self.grpc_port}"
        self._backend_names: list[str] = []
        self._current: Launch | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task | None = None
        self._cleanup: weakref.finalize | None = None
        self._cleanup_state: _RunCleanup | None = None
        self._exit_listeners: list[Callable[[int], Awaitable[object]]] = []
        self._shm_guard: ShmGuard | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        """Where clients reach it: `unix:<folder>/grpc:1`, or 127.0.0.1:port (long paths)."""
        return self._url

    @property
    def headers(self) -> dict[str, str]:
        """What every gRPC call must carry (also registered in `triton_auth` for `url`)."""
        return {AUTH_HEADER: self.secret} if self.secret else {}

    @property
    def shm_prefix(self) -> str:
        """The names of this run's shared-memory regions start with this."""
        return shm_prefix(self._run)

    @property
    def metrics_url(self) -> str:
        """Triton's Prometheus metrics (its own and the models' custom metrics)."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def launch(self) -> Launch | None:
        """The current (or last) launch."""
        return self._current

    def processes(self) -> list[int]:
        """The live processes of the current launch: the server and its stubs."""
        launch = self._current
        if launch is None:
            return []
        return run_processes(self._run, launch.number, launch.process.pid)

    def on_exit(self, listener: Callable[[int], Awaitable[object]]) -> Callable[[], None]:
        """`await listener(code)` as soon as the server process exits (before its cleanup and
        restart); returns what removes the listener."""
        self._exit_listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._exit_listeners.remove(listener)

        return remove

    async def start(self) -> None:
        """Launches the server and its supervisor; readiness is checked by the caller."""
        if self.run_dir is not None:
            raise RuntimeError("this EmbeddedTriton is already started")
        self._stopping = False
        path, fd = create_run_dir(self.parent_dir, self._run)
        self.secret = secrets.token_hex(24)
        self._cleanup_state = _RunCleanup(path, fd, self._url)
        self._cleanup = weakref.finalize(self, self._cleanup_state)
        self.run_dir, self.log_path = path, path / "tritonserver.log"
        triton_auth.register(self._url, self.headers)
        self._shm_guard = ShmGuard(shm_prefix(self._run))
        self._shm_guard.start()
        try:
            self._backends = prepare_backends(self.install, path)
            self._backend_names = sorted(p.name for p in self._backends.iterdir() if p.is_dir())
            await self._launch()
        except BaseException:
            self._remove_run_dir()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="triton-supervisor")

    def _model_control_args(self) -> list[str]:
        if self.models is None:
            return []
        return ["--model-control-mode=explicit", *(f"--load-model={m}" for m in self.models)]

    def _endpoint_args(self) -> list[str]:
        if self._socket is not None:
            address, _, port = str(self._socket).rpartition(":")
            return [f"--grpc-address=unix:{address}", f"--grpc-port={port}"]
        return ["--grpc-address=127.0.0.1", f"--grpc-port={self.grpc_port}"]

    async def _launch(self) -> None:
        if not os.access(self.install.binary, os.X_OK):  # setpriv would only exit 127
            raise FileNotFoundError(f"tritonserver is not an executable: {self.install.binary}")
        assert self.log_path is not None and self._cleanup_state is not None
        self.launches += 1
        number = self.launches
        regions = shm_prefix(self._run, number)
        args = [
            str(self.install.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={self._backends}",
            f"--model-config-name={self.model_config_name}",
            *self._model_control_args(),
            *self._endpoint_args(),
            f"--grpc-restricted-protocol={','.join(RESTRICTED_PROTOCOLS)}:{AUTH_KEY}={self.secret}",
            "--allow-http=false",  # were it on: --http-restricted-api as well
            "--allow-metrics=true",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={self.metrics_port}",
            "--strict-readiness=true",
            "--exit-timeout-secs=10",
            *(
                f"--backend-config={name},shm-region-prefix-name={regions}{name}-"
                for name in self._backend_names
            ),
        ]
        env = child_environment(self.install)
        env[RUN_ENV] = f"{self._run}-{number}"
        # A pipe of our own, not asyncio's: its Process.wait() would also wait for the pipe
        # to close, which the Python-backend stubs (children holding it) delay past a crash.
        read_fd, write_fd = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *_with_parent_death_signal(args),
                stdout=write_fd,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                # A session and process group of its own, which its Python-backend stubs
                # inherit (they would outlive a crashed server): `_end_launch` kills the group.
                start_new_session=True,
                # Regions, socket and files it creates are its user's alone. Both are done
                # by _posixsubprocess in C between fork and exec, no Python code runs there.
                umask=0o077,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        launch = Launch(number, process, time.monotonic())
        self.history = [*self.history[-99:], launch]
        self._current, self._process = launch, process
        self._cleanup_state.group = process.pid

        def served() -> None:
            if launch.served_at is None:
                launch.served_at = time.monotonic()
                log.info(
                    "triton_serving",
                    launch=number,
                    after_s=round(launch.served_at - launch.started_at, 2),
                )

        quiet = CPU_ONLY_NOISE if self.model_config_name == "cpu" else ()
        launch.forwarder = asyncio.create_task(
            _forward_log(read_fd, self.log_path, quiet, served), name="triton-log"
        )
        log.info(
            "triton_started",
            pid=process.pid,
            launch=number,
            grpc=self.url,
            metrics=self.metrics_url,
            log=str(self.log_path),
        )

    async def _supervise(self) -> None:
        quick_deaths = 0  # launches in a row that died before serving
        while not self._stopping:
            launch = self._current
            assert launch is not None
            code = await launch.process.wait()
            launch.ended_at, launch.code = time.monotonic(), code
            healthy = (
                launch.served_at is not None or launch.ended_at - launch.started_at >= self.stable_s
            )
            quick_deaths = 0 if healthy else quick_deaths + 1
            delay = min(self.restart_delay_s * 2 ** (quick_deaths), self.max_restart_delay_s)
            # A crash (not a kill) says why in the log's last lines, which go with the folder.
            crash = {} if code == -signal.SIGKILL else {"last_lines": self.log_tail(10)}
            log.error(
                "triton_exited",
                code=code,
                launch=launch.number,
                served=launch.served_at is not None,
                restart_in_s=delay,
                log=str(self.log_path),
                **crash,
            )
            await self._notify_exit(code)
            await self._end_launch(launch)
            if self._stopping:
                return
            self.restarts += 1
            self.restart_delays.append(delay)
            await asyncio.sleep(delay)
            if not self._stopping:
                await self._launch()

    async def _notify_exit(self, code: int) -> None:
        for listener in list(self._exit_listeners):
            try:
                await asyncio.wait_for(listener(code), 2.0)
            except Exception:  # a listener must not stop the restart
                log.exception("triton_exit_listener_failed")

    async def _end_launch(self, launch: Launch) -> None:
        """Once the server process has exited: SIGKILLs its group and every process carrying
        the launch's mark, waits until they are gone, then unlinks the launch's regions."""
        if launch.cleaned:  # (its group id may belong to another process group by now)
            return
        group = launch.process.pid
        killed = set(kill_run(self._run, launch.number, group))
        deadline = time.monotonic() + _GONE_TIMEOUT_S
        while True:
            _reap_adopted(group)
            left = run_processes(self._run, launch.number, group)
            if not left:
                break
            if time.monotonic() > deadline:
                log.error("triton_processes_survive", launch=launch.number, pids=left)
                break
            _kill(left)
            killed.update(left)
            await asyncio.sleep(0.05)
        regions = remove_shm_regions(shm_prefix(self._run, launch.number))
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.unlink()
        launch.killed, launch.regions, launch.cleaned = len(killed), len(regions), True
        if self._cleanup_state is not None and self._cleanup_state.group == group:
            self._cleanup_state.group = None  # gone: its id must not be signalled again
        if killed or regions:
            log.info(
                "triton_leftovers_removed",
                launch=launch.number,
                processes=sorted(killed),
                regions=len(regions),
            )
        # Its output pipe is closed now that every writer is gone: the last lines are in.
        task, launch.forwarder = launch.forwarder, None
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 2.0)

    def log_tail(self, lines: int = 30) -> str:
        """Triton's error lines (model load failures come first), then the last lines; empty
        before start and after stop (the log lives in the private folder)."""
        if self.log_path is None:
            return ""
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").splitlines()
            errors = [line for line in text if line.startswith("E")][-lines:]
            return "\n".join([*errors, "...", *text[-lines:]])
        return ""

    async def stop(self, timeout_s: float = 15.0) -> None:
        """Stops the supervisor, then the server (SIGTERM, then SIGKILL after `timeout_s`) and
        what is left of it, then removes the private folder."""
        self._stopping = True
        try:
            if self._supervisor:
                self._supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._supervisor
                self._supervisor = None
            await self._terminate(timeout_s)
        finally:
            self._remove_run_dir()

    async def _terminate(self, timeout_s: float) -> None:
        launch = self._current
        if launch is None:
            return
        proc = launch.process
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), timeout_s)
            except TimeoutError:
                log.warning("triton_kill", pid=proc.pid)
                proc.kill()
                await proc.wait()
            log.info("triton_stopped", pid=proc.pid, code=proc.returncode)
        await self._end_launch(launch)

    def _remove_run_dir(self) -> None:
        if self._shm_guard is not None:
            self._shm_guard.stop()
            self._shm_guard = None
        if self._cleanup is not None:
            self._cleanup()  # runs once; later calls (and interpreter exit) do nothing
            self._cleanup = None
        self.run_dir = self.log_path = None
