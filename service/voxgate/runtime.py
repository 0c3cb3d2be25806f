"""Starts and supervises the embedded `tritonserver` shipped by the nvidia-pytriton wheel."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from voxgate.logs import get_logger

log = get_logger(__name__)

_PR_SET_PDEATHSIG = 1


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


def prepare_backends(install: TritonInstall, run_dir: Path) -> Path:
    """A backend folder whose python/ holds the backend library and this Python's stub."""
    python = run_dir / "backends" / "python"
    python.mkdir(parents=True, exist_ok=True)
    for src in (
        install.python_backend / "libtriton_python.so",
        install.python_backend / "triton_python_backend_utils.py",
        install.stub,
    ):
        link = python / src.name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(src)
    return python.parent


def child_environment(install: TritonInstall) -> dict[str, str]:
    """Explicit environment: the stub finds this interpreter's packages through PATH."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "/usr/bin:/bin")])
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in [str(install.libs), env.get("LD_LIBRARY_PATH", "")] if p
    )
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedTriton:
    """One supervised tritonserver on loopback; restarted with backoff if it dies."""

    def __init__(self, model_repository: Path, model_config_name: str, run_dir: Path) -> None:
        self.install = TritonInstall.find()
        self.model_repository = model_repository
        self.model_config_name = model_config_name
        self.run_dir = run_dir
        self.grpc_port = free_port()
        self.log_path = run_dir / f"tritonserver-{os.getpid()}.log"
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._supervisor: asyncio.Task | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        """Launches the server and its supervisor; readiness is checked by the caller."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._backends = prepare_backends(self.install, self.run_dir)
        await self._launch()
        self._supervisor = asyncio.create_task(self._supervise(), name="triton-supervisor")

    async def _launch(self) -> None:
        args = [
            str(self.install.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={self._backends}",
            f"--model-config-name={self.model_config_name}",
            "--grpc-address=127.0.0.1",
            f"--grpc-port={self.grpc_port}",
            "--allow-http=false",
            "--allow-metrics=false",
            "--strict-readiness=true",
            "--exit-timeout-secs=10",
        ]
        logfile = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self._process = await asyncio.create_subprocess_exec(
                *args,
                stdout=logfile,
                stderr=asyncio.subprocess.STDOUT,
                env=child_environment(self.install),
                preexec_fn=_die_with_parent,
            )
        finally:
            logfile.close()
        log.info("triton_started", pid=self._process.pid, grpc=self.url, log=str(self.log_path))

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            if self._stopping:
                return
            self.restarts += 1
            log.error("triton_exited", code=code, restart_in_s=backoff, log=str(self.log_path))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            if not self._stopping:
                await self._launch()

    def log_tail(self, lines: int = 30) -> str:
        """Triton's error lines (model load failures come first), then the last lines."""
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace").splitlines()
            errors = [line for line in text if line.startswith("E")][-lines:]
            return "\n".join([*errors, "...", *text[-lines:]])
        return ""

    async def stop(self, timeout_s: float = 15.0) -> None:
        """Stops the supervisor, then the server: SIGTERM, then SIGKILL after `timeout_s`."""
        self._stopping = True
        if self._supervisor:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        proc = self._process
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            log.warning("triton_kill", pid=proc.pid)
            proc.kill()
            await proc.wait()
        log.info("triton_stopped", pid=proc.pid, code=proc.returncode)
