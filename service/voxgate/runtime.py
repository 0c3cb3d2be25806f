"""Starts and supervises the embedded `tritonserver` shipped by the nvidia-pytriton wheel."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import sys
import sysconfig
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

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

RUN_DIR_PREFIX = "voxgate-"
_LOCK_NAME = ".lock"


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


def create_run_dir(parent: Path) -> tuple[Path, int]:
    """A new private folder `parent/voxgate-XXXX` and the open descriptor of its lock file.

    The lock (flock) is held as long as the owning process lives; a folder whose lock nobody
    holds belongs to a process that died without cleaning up (SIGKILL) and is removed here.
    """
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_run_dirs(parent)
    path = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX, dir=parent))
    # Locked before it gets the name other instances look for, so none can take it meanwhile.
    fd = os.open(path / (_LOCK_NAME + ".new"), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    if not _holds_lock(fd):  # pragma: no cover - a fresh file nobody else knows of
        os.close(fd)
        raise RuntimeError(f"cannot lock {path}")
    os.replace(path / (_LOCK_NAME + ".new"), path / _LOCK_NAME)
    return path, fd


def remove_stale_run_dirs(parent: Path) -> list[Path]:
    """Removes run folders under `parent` whose owner is gone (lock file present, unlocked)."""
    removed = []
    for path in parent.glob(RUN_DIR_PREFIX + "*"):
        lock = path / _LOCK_NAME
        try:  # a folder without a lock file may be one that is being created: leave it
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if _holds_lock(fd):
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


def _reap(group: int) -> None:
    """Kills what is left of a server's process group (its stubs, once the server is gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


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


async def _forward_log(read_fd: int, path: Path, quiet: tuple[bytes, ...] = ()) -> None:
    """Triton's output -> its log file (kept for `log_tail`) and voxgate's structured log:
    warnings and errors at their level, the rest at debug (`--log-level debug` shows it)."""
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=1024 * 1024)
    pipe = os.fdopen(read_fd, "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
    try:
        await _copy_lines(stream, path, quiet)
    finally:
        transport.close()


async def _copy_lines(stream: asyncio.StreamReader, path: Path, quiet: tuple[bytes, ...]) -> None:
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
            match = _TRITON_LINE.match(line.rstrip(b"\r\n"))
            if match:
                level, where, text = match.groups()
                if level in b"WE" and any(n in text for n in quiet):
                    level = b"I"
                emit = getattr(triton_log, _TRITON_LEVELS[level])
                emit("triton_log", line=text.decode(errors="replace"), at=where.decode())
            elif line.strip():
                triton_log.debug("triton_log", line=line.rstrip().decode(errors="replace"))


class EmbeddedTriton:
    """One supervised tritonserver on loopback; restarted with backoff if it dies.

    Each instance works in a private folder created under `run_dir` at start (its backend
    folder and Triton's log), so instances never touch each other's files; `stop()` removes it,
    and so does interpreter exit if `stop()` was never called. Folders left behind by a killed
    process are removed by the next instance that starts under the same `run_dir`.
    """

    def __init__(self, model_repository: Path, model_config_name: str, run_dir: Path) -> None:
        self.install = TritonInstall.find()
        self.model_repository = model_repository
        self.model_config_name = model_config_name
        self.parent_dir = run_dir
        self.run_dir: Path | None = None  # the private folder, while started
        self.log_path: Path | None = None
        self.grpc_port = free_port()
        self.metrics_port = free_port()  # Triton's Prometheus endpoint, loopback only
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task | None = None
        self._forwarder: asyncio.Task | None = None
        self._cleanup: weakref.finalize | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        """Triton's Prometheus metrics (its own and the models' custom metrics)."""
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        """Launches the server and its supervisor; readiness is checked by the caller."""
        if self.run_dir is not None:
            raise RuntimeError("this EmbeddedTriton is already started")
        self._stopping = False
        path, fd = create_run_dir(self.parent_dir)
        self._cleanup = weakref.finalize(self, _remove_run_dir, path, fd)
        self.run_dir, self.log_path = path, path / "tritonserver.log"
        try:
            self._backends = prepare_backends(self.install, path)
            await self._launch()
        except BaseException:
            self._remove_run_dir()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="triton-supervisor")

    async def _launch(self) -> None:
        if not os.access(self.install.binary, os.X_OK):  # setpriv would only exit 127
            raise FileNotFoundError(f"tritonserver is not an executable: {self.install.binary}")
        args = [
            str(self.install.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={self._backends}",
            f"--model-config-name={self.model_config_name}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--allow-http=false",
            "--allow-metrics=true",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={self.metrics_port}",
            "--strict-readiness=true",
            "--exit-timeout-secs=10",
        ]
        # A pipe of our own, not asyncio's: its Process.wait() would also wait for the pipe
        # to close, which the Python-backend stubs (children holding it) delay past a crash.
        read_fd, write_fd = os.pipe()
        try:
            self._process = await asyncio.create_subprocess_exec(
                *_with_parent_death_signal(args),
                stdout=write_fd,
                stderr=asyncio.subprocess.STDOUT,
                env=child_environment(self.install),
                # Its own process group, which its Python-backend stubs inherit: if the server
                # dies, the stubs would live on as orphans; `_reap` kills the whole group.
                start_new_session=True,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        assert self.log_path is not None
        quiet = CPU_ONLY_NOISE if self.model_config_name == "cpu" else ()
        self._forwarder = asyncio.create_task(
            _forward_log(read_fd, self.log_path, quiet), name="triton-log"
        )
        log.info(
            "triton_started",
            pid=self._process.pid,
            grpc=self.url,
            metrics=self.metrics_url,
            log=str(self.log_path),
        )

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            _reap(self._process.pid)
            if self._stopping:
                return
            self.restarts += 1
            log.error("triton_exited", code=code, restart_in_s=backoff, log=str(self.log_path))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            if not self._stopping:
                await self._launch()

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
        """Stops the supervisor, then the server (SIGTERM, then SIGKILL after `timeout_s`),
        then removes the private folder."""
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
        proc = self._process
        if proc is None or proc.returncode is not None:
            await self._stop_forwarding()
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            log.warning("triton_kill", pid=proc.pid)
            proc.kill()
            await proc.wait()
        _reap(proc.pid)
        await self._stop_forwarding()
        log.info("triton_stopped", pid=proc.pid, code=proc.returncode)

    async def _stop_forwarding(self) -> None:
        """Lets the log forwarder drain what the server wrote (its pipe closes once the
        process group is gone), then stops it."""
        task, self._forwarder = self._forwarder, None
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 2.0)

    def _remove_run_dir(self) -> None:
        if self._cleanup is not None:
            self._cleanup()  # runs once; later calls (and interpreter exit) do nothing
            self._cleanup = None
        self.run_dir = self.log_path = None
