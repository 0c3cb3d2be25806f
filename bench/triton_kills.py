"""The embedded Triton SIGKILLed again and again under load (issue 11): what each kill leaves
behind and how long the façade takes to serve again.

Starts `voxgate serve` (voxgate.launcher; embedded Triton, the whole CPU model repository,
default health poll and probe), keeps `--concurrency` Tokenize calls going, and `--kills` times:
waits until the façade has served for `--hold-s`, SIGKILLs its tritonserver, then measures

- health_flip_ms: kill -> grpc.health.v1 says NOT_SERVING (polled every 10 ms);
- restart_s: kill -> the new tritonserver process exists (cleanup + restart delay);
- recovery_s: kill -> health SERVING again and a Tokenize through the façade succeeds;
- orphans: processes of the killed launch still alive at recovery, and again `--hold-s` later
  (its process group, its `VOXGATE_TRITON_RUN` mark, or a Python-backend stub whose
  arguments name the launch's shared-memory prefix);
- regions: /dev/shm entries with the killed launch's prefix at recovery and later;
- killed_by_supervisor: the launch's processes the supervisor found alive and killed
  (`triton_leftovers_removed` in the server's log): what would have been orphans before;
- failed: Tokenize calls that failed from the kill to recovery (UNAVAILABLE is expected);
- startup_s: how long the new Triton took to load its models (`triton_serving` in the log),
  and overhead_s = recovery_s - startup_s: what the kill costs beyond Triton's own start-up
  (exit detection, cleanup, restart delay, the façade noticing). Start-up varies with the
  machine's load; the overhead is what the supervisor controls, and must stay flat.

Also counts health reports of NOT_SERVING while no kill was in progress (a probe timing out
under load would show here). Prints a table and writes bench/results/triton_kills.{json,md}.

    python bench/triton_kills.py [--kills 20] [--concurrency 4] [--hold-s 3] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import statistics
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxgate import launcher  # noqa: E402
from voxgate.runtime import RUN_ENV, SHM_DIR, process_table  # noqa: E402
from voxgate.v1 import audio_pb2, tokenizer_pb2, tokenizer_pb2_grpc  # noqa: E402

from tests.conftest import speechlike, wav_bytes  # noqa: E402

SERVING = health_pb2.HealthCheckResponse.SERVING
REQUEST = tokenizer_pb2.TokenizeRequest(
    audio=audio_pb2.AudioInput(container=wav_bytes(speechlike(2.4, seed=3), 16000))
)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def triton_of(server_pid: int) -> int | None:
    """The tritonserver process that `voxgate serve` (pid) started."""
    for p in process_table():
        if p.ppid == server_pid and _read(f"/proc/{p.pid}/comm").strip() == b"tritonserver":
            return p.pid
    return None


def launch_mark(triton_pid: int) -> str:
    """`<run>-<launch>` from the server's environment."""
    for item in _read(f"/proc/{triton_pid}/environ").split(b"\0"):
        if item.startswith(RUN_ENV.encode() + b"="):
            return item.split(b"=", 1)[1].decode()
    raise RuntimeError(f"tritonserver {triton_pid} carries no {RUN_ENV}")


def leftovers(group: int, mark: str) -> list[int]:
    """Live processes of a killed launch (any of the three ways to recognise one)."""
    env = f"\0{RUN_ENV}={mark}\0".encode()
    prefix = f"voxgate-{mark}-".encode()
    found = []
    for p in process_table():
        if p.state in ("Z", "X") or p.pid == os.getpid():
            continue
        environ = b"\0" + _read(f"/proc/{p.pid}/environ")
        marked = env in environ
        # in its group (unless marked by another launch: the group id may be reused)
        grouped = p.pgid == group and f"\0{RUN_ENV}=".encode() not in environ
        stub = p.ppid == 1 and prefix in _read(f"/proc/{p.pid}/cmdline")
        if marked or grouped or stub:
            found.append(p.pid)
    return found


def regions(mark: str) -> int:
    return sum(1 for e in os.scandir(SHM_DIR) if e.name.startswith(f"voxgate-{mark}-"))


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in _read(f"/proc/{pid}/status").decode(errors="replace").splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def log_events(path: Path, event: str) -> list[dict]:
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if f'"{event}"' in line:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


class Load:
    """`concurrency` loops of Tokenize through the façade; counts outcomes by time."""

    def __init__(self, address: str, concurrency: int) -> None:
        self.address = address
        self.concurrency = concurrency
        self.ok: list[float] = []  # completion times
        self.failed: list[float] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    async def _loop(self) -> None:
        async with grpc.aio.insecure_channel(self.address) as channel:
            stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
            while not self._stop.is_set():
                try:
                    await stub.Tokenize(REQUEST, timeout=30)
                    self.ok.append(time.monotonic())
                except grpc.aio.AioRpcError:
                    self.failed.append(time.monotonic())
                    await asyncio.sleep(0.05)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(self.concurrency)]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def health(stub) -> int:
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
    except grpc.aio.AioRpcError:
        return -1
    return reply.status


async def run(args: argparse.Namespace) -> dict:
    log_path = Path(args.workdir) / "server.log"
    server = launcher.start(
        "--log-json",
        "--log-level",
        "info",
        "--metrics-port",
        "0",
        log_path=log_path,
        start_timeout_s=600,
    )
    rows: list[dict] = []
    flaps = 0
    try:
        channel = grpc.aio.insecure_channel(server.address)
        hstub = health_pb2_grpc.HealthStub(channel)
        load = Load(server.address, args.concurrency)
        load.start()
        for kill in range(1, args.kills + 1):
            # Hold: the façade serves for hold_s; any NOT_SERVING meanwhile is a flap.
            t_hold = time.monotonic()
            while time.monotonic() - t_hold < args.hold_s:
                if await health(hstub) != SERVING:
                    flaps += 1
                await asyncio.sleep(0.1)
            triton = triton_of(server.pid)
            assert triton is not None, "no tritonserver"
            mark = launch_mark(triton)
            members = leftovers(triton, mark)
            before = {
                "processes": len(members),
                "rss_mib": rss_mib(members),
                "regions": regions(mark),
            }
            cleaned = len(log_events(log_path, "triton_leftovers_removed"))
            os.kill(triton, signal.SIGKILL)
            t0 = time.monotonic()
            while await health(hstub) == SERVING:
                await asyncio.sleep(0.01)
            flip_ms = (time.monotonic() - t0) * 1000
            while (new := triton_of(server.pid)) in (None, triton):
                await asyncio.sleep(0.02)
            restart_s = time.monotonic() - t0
            while True:  # SERVING, and a call that starts after that succeeds
                if time.monotonic() - t0 > 300:
                    raise RuntimeError(f"kill {kill}: no recovery in 300 s")
                if await health(hstub) == SERVING:
                    n = len(load.ok)
                    t_ok = time.monotonic()
                    while len(load.ok) == n and time.monotonic() - t_ok < 30:
                        await asyncio.sleep(0.01)
                    if len(load.ok) > n:
                        break
                await asyncio.sleep(0.05)
            recovery_s = time.monotonic() - t0
            orphans_now, regions_now = leftovers(triton, mark), regions(mark)
            failed = sum(1 for t in load.failed if t >= t0)
            await asyncio.sleep(args.hold_s)
            removed = log_events(log_path, "triton_leftovers_removed")[cleaned:]
            row = {
                "kill": kill,
                "launch": mark.rsplit("-", 1)[1],
                "before": before,
                "health_flip_ms": round(flip_ms, 1),
                "restart_s": round(restart_s, 2),
                "recovery_s": round(recovery_s, 2),
                "orphans": len(orphans_now),
                "orphans_later": len(leftovers(triton, mark)),
                "regions": regions_now,
                "regions_later": regions(mark),
                "killed_by_supervisor": sum(len(e.get("processes", [])) for e in removed),
                "failed_calls": failed,
                "new_triton": new,
            }
            rows.append(row)
            print(
                f"kill {kill:2d}: orphans {row['orphans']}/{row['orphans_later']}  "
                f"regions {row['regions']}/{row['regions_later']}  "
                f"flip {row['health_flip_ms']:6.1f} ms  restart {row['restart_s']:5.2f} s  "
                f"recovery {row['recovery_s']:6.2f} s  "
                f"(supervisor killed {row['killed_by_supervisor']}, "
                f"{before['processes']} procs {before['rss_mib']} MiB, failed {failed})",
                flush=True,
            )
        await load.stop()
        await channel.close()
        ok_calls, failed_calls = len(load.ok), len(load.failed)
    finally:
        code = server.stop()
    # launch number -> seconds it took to serve (a launch that died first is not in it)
    serving = {str(e["launch"]): e.get("after_s") for e in log_events(log_path, "triton_serving")}
    return summarize(
        {
            "kills": len(rows),
            "concurrency": args.concurrency,
            "hold_s": args.hold_s,
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "load_average": os.getloadavg(),
            },
            "server_exit": code,
            "rows": rows,
            "triton_startup_s": serving,
            "calls": {"ok": ok_calls, "failed": failed_calls},
            "flaps_while_serving": flaps,
        }
    )


def summarize(result: dict) -> dict:
    """Adds each kill's start-up and overhead, and the summary."""
    rows, startup = result["rows"], result["triton_startup_s"]
    for row in rows:
        # The launch that served after this kill: the next one, unless that died first.
        served = sorted(int(n) for n in startup if int(n) > int(row["launch"]))
        new = served[0] if served else None
        row["served_by_launch"] = new
        row["launches_died_meanwhile"] = new - int(row["launch"]) - 1 if new else None
        row["startup_s"] = startup[str(new)] if new else None
        if row["startup_s"] is not None:
            row["overhead_s"] = round(row["recovery_s"] - row["startup_s"], 2)
    recovery = [r["recovery_s"] for r in rows]
    overhead = [r.get("overhead_s") for r in rows]

    def nth(values: list, n: int):
        return values[n - 1] if len(values) >= n else None

    result["summary"] = {
        "orphans": sum(r["orphans"] for r in rows),
        "orphans_later": sum(r["orphans_later"] for r in rows),
        "regions": sum(r["regions"] for r in rows),
        "regions_later": sum(r["regions_later"] for r in rows),
        "killed_by_supervisor": sum(r["killed_by_supervisor"] for r in rows),
        "recovery_s": {
            "1st": nth(recovery, 1),
            "5th": nth(recovery, 5),
            "20th": nth(recovery, 20),
            "median": round(statistics.median(recovery), 2),
            "max": max(recovery),
        },
        "overhead_s": {
            "1st": nth(overhead, 1),
            "5th": nth(overhead, 5),
            "20th": nth(overhead, 20),
            "median": round(statistics.median(o for o in overhead if o is not None), 2),
            "max": max(o for o in overhead if o is not None),
        },
        "launches_died_meanwhile": sum(r.get("launches_died_meanwhile") or 0 for r in rows),
        "health_flip_ms_max": max(r["health_flip_ms"] for r in rows),
        "restart_s_max": max(r["restart_s"] for r in rows),
        "flaps_while_serving": result["flaps_while_serving"],
        "calls_ok": result["calls"]["ok"],
        "calls_failed": result["calls"]["failed"],
    }
    return result


def markdown(result: dict) -> str:
    s, m = result["summary"], result["machine"]
    r, o = s["recovery_s"], s["overhead_s"]
    load = ", ".join(f"{x:.1f}" for x in m.get("load_average", ()))
    lines = [
        "# Embedded Triton SIGKILLed under load",
        "",
        f"`python bench/triton_kills.py --kills {result['kills']} --concurrency "
        f"{result['concurrency']} --hold-s {result['hold_s']}` on {m['cpus']} CPUs "
        f"({m['platform']}; load average at the end {load or 'n/a'}), `voxgate serve` with the "
        "whole CPU model repository, Tokenize load.",
        "",
        *([f"Conditions: {result['note']}.", ""] if result.get("note") else []),
        f"- orphans of killed launches: {s['orphans']} at recovery, {s['orphans_later']} "
        f"{result['hold_s']} s later (the supervisor killed {s['killed_by_supervisor']} "
        "processes that were still alive after their server died)",
        f"- shared-memory regions of killed launches: {s['regions']} at recovery, "
        f"{s['regions_later']} later",
        f"- recovery (kill -> SERVING and a call through the façade succeeds): 1st {r['1st']} s, "
        f"5th {r['5th']} s, 20th {r['20th']} s (median {r['median']} s, max {r['max']} s); "
        "most of it is Triton loading its models, which varies with the machine's load",
        f"- overhead (recovery minus the new Triton's start-up): 1st {o['1st']} s, 5th "
        f"{o['5th']} s, 20th {o['20th']} s (median {o['median']} s, max {o['max']} s)",
        f"- health NOT_SERVING after a kill: at most {s['health_flip_ms_max']} ms; "
        f"new tritonserver at most {s['restart_s_max']} s after a kill",
        f"- NOT_SERVING reports while serving under load: {s['flaps_while_serving']}",
        f"- restarted launches that died before serving (on their own): "
        f"{s['launches_died_meanwhile']} (their time counts in that kill's overhead)",
        f"- calls: {s['calls_ok']} ok, {s['calls_failed']} failed (fast UNAVAILABLE during the "
        "outages)",
        "",
        "| kill | orphans | later | regions | later | supervisor killed | flip ms "
        "| restart s | start-up s | recovery s | overhead s | died meanwhile |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['kill']} | {row['orphans']} | {row['orphans_later']} | {row['regions']} "
            f"| {row['regions_later']} | {row['killed_by_supervisor']} "
            f"| {row['health_flip_ms']} | {row['restart_s']} | {row.get('startup_s')} "
            f"| {row['recovery_s']} | {row.get('overhead_s')} "
            f"| {row.get('launches_died_meanwhile')} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--hold-s", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--workdir", default="/tmp/voxgate-triton-kills")
    parser.add_argument("--report", type=Path, help="only rewrite the tables from this JSON")
    args = parser.parse_args()
    if args.report:
        result = summarize(json.loads(args.report.read_text()))
    else:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        result = asyncio.run(run(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "triton_kills.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "triton_kills.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
