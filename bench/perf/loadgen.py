"""Open- and closed-loop load on voxgate's gRPC API, with the FastAPI peer in the same run.

- unary Tokenize (voxgate, grpc.aio) and POST /tokenize (peer, aiohttp) on the same WAV clips:
  closed loop (c callers, each sends its next request when the previous one ends) and open
  loop (Poisson arrivals at a fixed rate; latency counts from the scheduled send time, so a
  slow server cannot hide its queue). Steps alternate voxgate / peer at each level.
- StreamTokenize: n live streams, each sending 120 ms of S16LE PCM every 120 ms (real time),
  started at random offsets within one group. Per group: latency from the moment its
  look-ahead (`context_groups` more groups) was sent to the response carrying it; per stream:
  time to first response and gaps between messages.
- façade overhead: 1 s clips at concurrency 1, Tokenize vs both ONNX graphs in-process (two
  threads, one intra-op thread each, as the ensemble runs them), alternating.

Every step records the peak RSS of each server's whole process tree (voxgate + tritonserver +
Python-backend stubs; uvicorn for the peer) and the machine's load.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
import numpy as np
from voxgate.v1 import audio_pb2, tokenizer_pb2, tokenizer_pb2_grpc

from bench.perf.inputs import session
from bench.perf.machine import TreeRss, load_snapshot
from bench.perf.server import ROOT
from tests.conftest import wav_bytes

GROUP = 1920  # samples per 120 ms group at 16 kHz
GROUP_S = 0.12
LOOKAHEAD_GROUPS = 2  # the reference tokenizers' context_groups (cpu.pbtxt parameters)
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


@dataclass
class Step:
    """What one load step saw; latencies in ms."""

    latencies: list[float] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def summary(self) -> dict:
        ok = self.codes.get("OK", 0)
        return {
            "requests": sum(self.codes.values()),
            "ok": ok,
            "errors": {k: v for k, v in self.codes.items() if k != "OK"},
            "req_per_s": round(ok / self.elapsed_s, 2) if self.elapsed_s else 0.0,
            "p50_ms": pct(self.latencies, 50),
            "p95_ms": pct(self.latencies, 95),
            "p99_ms": pct(self.latencies, 99),
        }


Call = Callable[[bytes], Awaitable[str]]  # sends one clip, returns a status code name


def voxgate_call(channel: grpc.aio.Channel) -> Call:
    stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)

    async def call(wav: bytes) -> str:
        request = tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(container=wav))
        try:
            await stub.Tokenize(request, timeout=120)
        except grpc.aio.AioRpcError as err:
            return err.code().name
        return "OK"

    return call


def peer_call(http: aiohttp.ClientSession, url: str) -> Call:
    async def call(wav: bytes) -> str:
        try:
            async with http.post(url, data=wav, headers={"content-type": "audio/wav"}) as r:
                await r.read()
                return "OK" if r.status == 200 else f"HTTP_{r.status}"
        except (aiohttp.ClientError, TimeoutError) as err:
            return type(err).__name__

    return call


async def closed_loop(call: Call, clips: list[bytes], concurrency: int, seconds: float) -> Step:
    step, end = Step(), time.perf_counter() + seconds

    async def caller(k: int) -> None:
        i = k
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            code = await call(clips[i % len(clips)])
            step.codes[code] += 1
            if code == "OK":
                step.latencies.append((time.perf_counter() - t0) * 1000)
            i += concurrency

    t0 = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(concurrency)))
    step.elapsed_s = time.perf_counter() - t0
    return step


async def open_loop(call: Call, clips: list[bytes], rate: float, seconds: float) -> Step:
    """Poisson arrivals at `rate`/s for `seconds`; waits for every request sent."""
    step, rng = Step(), random.Random(7)
    t0 = time.perf_counter()

    async def one(i: int, due: float) -> None:
        code = await call(clips[i % len(clips)])
        step.codes[code] += 1
        if code == "OK":
            step.latencies.append((time.perf_counter() - due) * 1000)

    tasks, due, i = [], t0, 0
    while True:
        due += rng.expovariate(rate)
        if due - t0 > seconds:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i, due)))
        i += 1
    await asyncio.gather(*tasks)
    step.elapsed_s = time.perf_counter() - t0
    return step


@dataclass
class StreamStats:
    group_ms: list[float] = field(default_factory=list)  # per group, after the look-ahead
    first_ms: list[float] = field(default_factory=list)  # per stream: first response
    gaps_ms: list[float] = field(default_factory=list)  # between messages of a stream
    codes: Counter = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)  # the first errors' messages

    def summary(self) -> dict:
        return {
            "error_details": self.details,
            "streams": sum(self.codes.values()),
            "ok": self.codes.get("OK", 0),
            "errors": {k: v for k, v in self.codes.items() if k != "OK"},
            "groups": len(self.group_ms),
            "group_p50_ms": pct(self.group_ms, 50),
            "group_p95_ms": pct(self.group_ms, 95),
            "group_p99_ms": pct(self.group_ms, 99),
            "first_response_p50_ms": pct(self.first_ms, 50),
            "first_response_p95_ms": pct(self.first_ms, 95),
            "gap_p50_ms": pct(self.gaps_ms, 50),
            "gap_p95_ms": pct(self.gaps_ms, 95),
            "gap_max_ms": round(max(self.gaps_ms), 1) if self.gaps_ms else None,
        }


def _pieces(pcm: np.ndarray) -> list[bytes]:
    s16 = (np.clip(pcm, -1, 1) * 32767).astype("<i2")
    return [s16[i : i + GROUP].tobytes() for i in range(0, len(s16), GROUP)]


async def one_stream(stub, pieces: list[bytes], stats: StreamStats, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    raw = audio_pb2.RawAudioFormat(
        encoding=audio_pb2.PCM_ENCODING_S16LE, sample_rate_hz=16000, channels=1
    )
    fmt = audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_RAW, raw=raw)
    sent: list[float] = []
    closed: list[float] = []

    async def requests():
        yield tokenizer_pb2.StreamTokenizeRequest(
            config=tokenizer_pb2.StreamTokenizeConfig(format=fmt)
        )
        start = time.perf_counter()
        for i, piece in enumerate(pieces):
            # A piece leaves when its 120 ms have been "spoken": real-time pacing.
            await asyncio.sleep(max(0.0, start + (i + 1) * GROUP_S - time.perf_counter()))
            sent.append(time.perf_counter())
            yield tokenizer_pb2.StreamTokenizeRequest(audio=piece)
        closed.append(time.perf_counter())

    last = None
    try:
        async for response in stub.StreamTokenize(requests(), timeout=300):
            now = time.perf_counter()
            if last is None and sent:
                stats.first_ms.append((now - sent[0]) * 1000)
            elif last is not None:
                stats.gaps_ms.append((now - last) * 1000)
            last = now
            groups = len(response.tokens.linguistic) // 2
            for g in range(response.group_offset, response.group_offset + groups):
                needed = g + LOOKAHEAD_GROUPS  # the piece that completes its look-ahead
                ready = sent[needed] if needed < len(sent) else (closed or [now])[0]
                stats.group_ms.append((now - ready) * 1000)
    except grpc.aio.AioRpcError as err:
        stats.codes[err.code().name] += 1
        if len(stats.details) < 5:
            stats.details.append(f"{err.code().name}: {err.details()}")
        return
    stats.codes["OK"] += 1


async def streams(address: str, pcm: np.ndarray, n: int, per_channel: int = 16) -> StreamStats:
    """`n` concurrent real-time streams of `pcm`, `per_channel` of them per connection."""
    stats, pieces = StreamStats(), _pieces(pcm)
    # A channel of its own subchannel pool: its own connection (channels with equal options
    # would otherwise share one, and the server caps streams per connection).
    own = [*CHANNEL_OPTIONS, ("grpc.use_local_subchannel_pool", 1)]
    channels = [
        grpc.aio.insecure_channel(address, options=own) for _ in range(-(-n // per_channel))
    ]
    rng = random.Random(n)
    try:
        stubs = [tokenizer_pb2_grpc.TokenizerServiceStub(c) for c in channels]
        await asyncio.gather(
            *(
                one_stream(stubs[k // per_channel], pieces, stats, rng.uniform(0, GROUP_S))
                for k in range(n)
            )
        )
    finally:
        for c in channels:
            await c.close()
    return stats


# -- servers -----------------------------------------------------------------------------------


@contextlib.contextmanager
def fastapi_peer(
    port: int, log_path: Path, timeout_s: float = 60.0, joint: bool = False
) -> Iterator[subprocess.Popen]:
    """bench/peers/fastapi_tokenizer.py under uvicorn (one worker), until /health answers;
    `joint`: the peer running the joint_tokenizer graph instead of the two tokenizers."""
    cmd = [sys.executable, "-m", "uvicorn", "bench.peers.fastapi_tokenizer:app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "VOXGATE_PEER_TOKENIZER": "joint" if joint else "two"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("peer did not start:\n" + log_path.read_text()[-2000:])
            with contextlib.suppress(OSError):
                import urllib.request

                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Plan:
    clip_s: float = 10.0
    concurrency: tuple[int, ...] = (1, 4, 16, 64)
    rates: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)  # × voxgate's saturated closed-loop rate
    step_s: float = 12.0
    repeats: int = 2
    stream_counts: tuple[int, ...] = (10, 50, 100, 200)
    stream_clip_s: float = 10.0
    overhead_repeats: int = 60


SMOKE = Plan(
    concurrency=(2,),
    rates=(0.5,),
    step_s=3.0,
    repeats=1,
    stream_counts=(2,),
    stream_clip_s=2.0,
    overhead_repeats=5,
)


async def _measured(roots: list[int], work: Awaitable, label: dict) -> tuple[object, dict]:
    load = load_snapshot(roots)
    with TreeRss(roots) as rss:
        result = await work
    return result, {**label, "peak_rss_mb": rss.peak_mb, "loadavg_1m": load["loadavg_1m"]}


async def run_unary(
    plan: Plan, address: str, peer_urls: dict[str, str], pids: dict, wavs: list
) -> dict:
    """Closed- and open-loop Tokenize against voxgate and each peer (`peer_urls` by name)."""
    clips = [wav_bytes(w, 16000) for w in wavs]
    channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=120)
    )
    calls = {"voxgate": voxgate_call(channel)}
    calls |= {name: peer_call(http, url) for name, url in peer_urls.items()}
    rows: list[dict] = []
    try:
        for call in calls.values():  # warm-up
            for clip in clips:
                await call(clip)
        for c in plan.concurrency:
            for rep in range(plan.repeats):
                order = list(calls) if rep % 2 == 0 else list(calls)[::-1]  # alternate
                for name in order:
                    step, meta = await _measured(
                        [pids[name]],
                        closed_loop(calls[name], clips, c, plan.step_s),
                        {"target": name, "mode": "closed", "concurrency": c, "repeat": rep},
                    )
                    rows.append({**meta, **step.summary()})
                    print("unary", rows[-1], flush=True)
        top = max((r for r in rows if r["target"] == "voxgate"), key=lambda r: r["req_per_s"])[
            "req_per_s"
        ]
        for f in plan.rates:
            rate = max(0.5, round(f * top, 2))
            for name in calls:
                step, meta = await _measured(
                    [pids[name]],
                    open_loop(calls[name], clips, rate, plan.step_s),
                    {"target": name, "mode": "open", "rate_per_s": rate, "repeat": 0},
                )
                rows.append({**meta, **step.summary()})
                print("unary", rows[-1], flush=True)
    finally:
        await http.close()
        await channel.close()
    return {"clip_s": plan.clip_s, "rows": rows, "comparison": compare(rows)}


PEERS = ("fastapi", "fastapi_joint")  # the two tokenizer graphs; the joint graph
RATIOS = ("throughput_ratio", "throughput_ratio_joint")  # voxgate / each peer


def compare(rows: list[dict]) -> list[dict]:
    """Per closed-loop concurrency: medians over repeats, voxgate / peer throughput ratios
    (`throughput_ratio` against the two-model peer, `throughput_ratio_joint` against the peer
    running the joint graph, when it ran)."""
    out = []
    for c in sorted({r["concurrency"] for r in rows if r["mode"] == "closed"}):
        med = {}
        for name in ("voxgate", *PEERS):
            sel = [r for r in rows if r["mode"] == "closed" and r["concurrency"] == c]
            sel = [r for r in sel if r["target"] == name and r["ok"]]
            if not sel:
                continue
            med[name] = {
                k: statistics.median(r[k] for r in sel)
                for k in ("req_per_s", "p50_ms", "p99_ms", "peak_rss_mb")
            }
        if "voxgate" in med and med.get("fastapi", {}).get("req_per_s"):
            row = {"concurrency": c, **_flat(med)}
            for peer, key in zip(PEERS, RATIOS, strict=True):
                if med.get(peer, {}).get("req_per_s"):
                    row[key] = round(med["voxgate"]["req_per_s"] / med[peer]["req_per_s"], 3)
            out.append(row)
    return out


def _flat(med: dict) -> dict:
    return {f"{n}_{k}": round(v, 2) for n, m in med.items() for k, v in m.items()}


async def run_streams(plan: Plan, address: str, pids: dict, pcm: np.ndarray) -> list[dict]:
    rows = []
    for n in plan.stream_counts:
        stats, meta = await _measured(
            [pids["voxgate"]],
            streams(address, pcm, n),
            {"streams": n, "clip_s": plan.stream_clip_s},
        )
        rows.append({**meta, **stats.summary()})
        print("streams", rows[-1], flush=True)
    return rows


async def run_overhead(plan: Plan, address: str, pids: dict, wav: np.ndarray) -> dict:
    """1 s clip, concurrency 1: Tokenize over gRPC vs the in-process floor (the joint graph the
    tokenize ensemble runs, on one thread as in Triton), alternating."""
    joint = session("joint_tokenizer")
    x = wav[None, :]

    def floor() -> None:
        joint.run(None, {"waveform": x})

    channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
    call, clip = voxgate_call(channel), wav_bytes(wav, 16000)
    grpc_ms, local_ms = [], []
    try:
        await call(clip)
        floor()
        for _ in range(plan.overhead_repeats):
            t0 = time.perf_counter()
            code = await call(clip)
            t1 = time.perf_counter()
            floor()
            t2 = time.perf_counter()
            if code == "OK":
                grpc_ms.append((t1 - t0) * 1000)
                local_ms.append((t2 - t1) * 1000)
    finally:
        await channel.close()
    g, f = statistics.median(grpc_ms), statistics.median(local_ms)
    return {
        "clip_s": len(wav) / 16000,
        "repeats": len(grpc_ms),
        "grpc_p50_ms": round(g, 2),
        "grpc_p95_ms": pct(grpc_ms, 95),
        "in_process_p50_ms": round(f, 2),
        "in_process_p95_ms": pct(local_ms, 95),
        "overhead_p50_ms": round(g - f, 2),
        "load": load_snapshot([pids["voxgate"]]),
    }


def plot(path: Path, unary: dict, stream_rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    comp = unary["comparison"]
    for name in ("voxgate", *PEERS):
        got = [r for r in comp if f"{name}_req_per_s" in r]
        c = [r["concurrency"] for r in got]
        axes[0].plot(c, [r[f"{name}_req_per_s"] for r in got], marker="o", label=name)
        axes[1].plot(c, [r[f"{name}_p99_ms"] for r in got], marker="o", label=name)
    for ax, label in ((axes[0], "requests / s"), (axes[1], "p99 latency (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrency (closed loop)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_title(f"Tokenize, {unary['clip_s']:g} s clips")
    axes[1].set_yscale("log")
    ok = [r for r in stream_rows if r["group_p95_ms"] is not None]
    if ok:
        n = [r["streams"] for r in ok]
        axes[2].plot(n, [r["group_p50_ms"] for r in ok], marker="o", label="p50")
        axes[2].plot(n, [r["group_p95_ms"] for r in ok], marker="o", label="p95")
        axes[2].axhline(100, color="grey", ls="--", lw=1, label="target p95")
        axes[2].set_xscale("log")
        axes[2].set_yscale("log")
        axes[2].set_xlabel("live real-time streams")
        axes[2].set_ylabel("per-group latency after look-ahead (ms)")
        axes[2].set_title("StreamTokenize")
        axes[2].grid(alpha=0.3)
        axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
