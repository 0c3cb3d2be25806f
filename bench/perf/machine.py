"""What the machine was doing during a benchmark, and peak RSS of a process tree.

The benchmarks run on a shared 2-core machine: every results file records the 1-minute load
average and the busiest processes that are not ours, so figures can be read in context.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterable


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree(roots: Iterable[int]) -> set[int]:
    """The processes `roots` and all their descendants (e.g. voxgate, tritonserver, stubs)."""
    kids, seen, todo = _children(), set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += kids.get(pid, [])
    return seen


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeRss:
    """Samples the summed RSS of process trees in a thread; `peak_mb` is the largest sum seen.

    Summed VmHWM (each process's own peak) is kept as well: an upper bound that catches peaks
    shorter than the sampling interval.
    """

    def __init__(self, roots: Iterable[int], interval_s: float = 0.2) -> None:
        self.roots = list(roots)
        self.interval_s = interval_s
        self.peak_kib = 0
        self.hwm: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> int:
        total = 0
        for pid in tree(self.roots):
            total += rss_kib(pid)
            self.hwm[pid] = max(self.hwm.get(pid, 0), rss_kib(pid, "VmHWM"))
        self.peak_kib = max(self.peak_kib, total)
        return total

    def __enter__(self) -> TreeRss:
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kib / 1024, 1)

    @property
    def hwm_sum_mb(self) -> float:
        return round(sum(self.hwm.values()) / 1024, 1)


def breakdown(roots: Iterable[int]) -> dict[str, float]:
    """RSS (MB) of each process of the trees, named by comm, or by model for a backend stub."""
    out: dict[str, float] = {}
    for pid in tree(roots):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        if name.startswith("triton_python") and len(argv) > 8:
            name = "stub:" + argv[8].decode(errors="replace")  # the model instance's name
        out[f"{name}[{pid}]"] = round(rss_kib(pid) / 1024, 1)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def load_snapshot(exclude: Iterable[int] = ()) -> dict:
    """1-minute load average and the heaviest processes by CPU (ps), ours left out."""
    ours = tree(exclude) | {os.getpid()}
    ps = subprocess.run(
        ["ps", "-eo", "pid,pcpu,rss,comm", "--sort=-pcpu", "--no-headers"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    heavy = []
    for line in ps:
        pid, cpu, rss, comm = line.split(None, 3)
        if int(pid) in ours or float(cpu) < 5.0:
            continue
        heavy.append(
            {"pid": int(pid), "cpu_pct": float(cpu), "rss_mb": int(rss) // 1024, "comm": comm}
        )
    return {
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "other_heavy_processes": heavy[:8],
    }
