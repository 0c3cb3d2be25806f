"""perf_analyzer, obtained as shared/notes/triton-on-cpu.md describes, cached per machine.

`tritonclient==2.51.0` is the last wheel that carries `bin/perf_analyzer` and its glibc fits
Debian 12; it wants protobuf<5 and numpy<2, so it is installed apart (`pip --target`, no deps)
under ~/.cache/voxgate/tools, next to `nvidia-cuda-runtime-cu12` for libcudart.so.12. The
binary also needs libb64.so.0d (Debian `libb64-0d`, see scripts/system-deps.sh).
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

VERSION = "2.51.0"
PACKAGES = (f"tritonclient=={VERSION}", "nvidia-cuda-runtime-cu12")
CACHE = Path(os.environ.get("VOXGATE_TOOLS", Path.home() / ".cache" / "voxgate" / "tools"))


class ToolMissing(RuntimeError):
    """perf_analyzer cannot be obtained or run here; the message says what to install."""


@dataclass(frozen=True)
class PerfAnalyzer:
    binary: Path
    env: dict[str, str]

    def version(self) -> str:
        out = subprocess.run(
            [str(self.binary), "--version"], capture_output=True, text=True, env=self.env
        )
        return (out.stdout + out.stderr).strip().splitlines()[0] if out.returncode == 0 else ""


def _install(folder: Path) -> None:
    """pip installs the two wheels into a temporary folder, then renames it into place, so an
    interrupted download never leaves a half-filled cache behind."""
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp)]
    done = subprocess.run([*cmd, *PACKAGES], capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ToolMissing(
            f"pip could not install {' '.join(PACKAGES)} (perf_analyzer):\n{done.stderr[-2000:]}"
        )
    tmp.rename(folder)


def perf_analyzer(cache: Path = CACHE) -> PerfAnalyzer:
    """The cached perf_analyzer (downloaded on first use) and the environment it runs in."""
    folder = cache / f"perf_analyzer-{VERSION}"
    binary = folder / "bin" / "perf_analyzer"
    if not binary.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        _install(folder)
    if (
        ctypes.util.find_library("b64") is None
        and not Path("/usr/lib/x86_64-linux-gnu/libb64.so.0d").exists()
    ):
        raise ToolMissing(
            "perf_analyzer needs libb64.so.0d: apt-get install libb64-0d (scripts/system-deps.sh)"
        )
    binary.chmod(0o755)
    env = dict(os.environ)
    cudart = folder / "nvidia" / "cuda_runtime" / "lib"
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(cudart), env.get("LD_LIBRARY_PATH", "")) if p
    )
    tool = PerfAnalyzer(binary, env)
    check = subprocess.run([str(binary), "--help"], capture_output=True, text=True, env=env)
    if "perf_analyzer" not in check.stdout + check.stderr or "error while loading" in check.stderr:
        raise ToolMissing(f"{binary} does not run here:\n{check.stderr[-1500:]}")
    return tool
