"""A tritonserver of the benchmark's own on loopback TCP, for perf_analyzer.

`voxgate serve`'s embedded Triton is locked (Unix socket in a 0700 folder, a per-run secret
header on every gRPC protocol, HTTP off), and perf_analyzer 2.51 sends no custom headers over
gRPC (`-H` is HTTP only). So the suite starts a Triton of its own with the project's launch
parts (`voxgate.runtime`: the wheel's install, the backend folder, the child environment, the
private run folder and its clean-up) on 127.0.0.1 with no secret, loading only the models it
measures. The embedded server's defaults are untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tritonclient.grpc as grpcclient
from voxgate import runtime

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LoopbackTriton:
    url: str  # host:port for perf_analyzer -u
    pid: int
    log_path: Path


@contextlib.contextmanager
def loopback_triton(
    models: list[str],
    config_name: str = "cpu",
    repository: Path = ROOT / "triton_models",
    timeout_s: float = 240.0,
) -> Iterator[LoopbackTriton]:
    """Starts tritonserver on 127.0.0.1 with `models` loaded (explicit model control: an
    ensemble brings its steps), waits until they are ready, and stops it (process group and
    shared-memory regions) on exit."""
    install = runtime.TritonInstall.find()
    parent = Path(os.environ.get("TMPDIR", "/tmp")) / "voxgate-perf"
    run_dir, lock_fd = runtime.create_run_dir(parent)
    run = runtime.run_id(run_dir)
    backends = runtime.prepare_backends(install, run_dir)
    names = sorted(p.name for p in backends.iterdir() if p.is_dir())
    grpc_port, metrics_port = runtime.free_port(), runtime.free_port()
    regions = runtime.shm_prefix(run, 1)
    args = [
        str(install.binary),
        f"--model-repository={repository}",
        f"--backend-directory={backends}",
        f"--model-config-name={config_name}",
        "--model-control-mode=explicit",
        *(f"--load-model={m}" for m in models),
        "--grpc-address=127.0.0.1",
        f"--grpc-port={grpc_port}",
        "--allow-http=false",
        "--metrics-address=127.0.0.1",
        f"--metrics-port={metrics_port}",
        "--exit-timeout-secs=10",
        *(f"--backend-config={n},shm-region-prefix-name={regions}{n}-" for n in names),
    ]
    env = runtime.child_environment(install)
    env[runtime.RUN_ENV] = f"{run}-1"
    log_path = run_dir / "tritonserver.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, umask=0o077
        )
    url = f"127.0.0.1:{grpc_port}"
    try:
        _wait_ready(url, models, proc, log_path, timeout_s)
        yield LoopbackTriton(url, proc.pid, log_path)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        runtime.kill_run(run, group=proc.pid)  # stubs left behind
        runtime.remove_shm_regions(runtime.shm_prefix(run))
        shutil.rmtree(run_dir, ignore_errors=True)
        os.close(lock_fd)  # releases the run folder's lock


def _wait_ready(url: str, models: list[str], proc, log_path: Path, timeout_s: float) -> None:
    client = grpcclient.InferenceServerClient(url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            with contextlib.suppress(Exception):
                if all(client.is_model_ready(m) for m in models):
                    return
            time.sleep(0.5)
    finally:
        client.close()
    tail = log_path.read_text(errors="replace").splitlines()[-25:]
    raise RuntimeError(f"tritonserver not ready ({url}, {models}):\n" + "\n".join(tail))
