"""Admission under overload: twice as many real-time StreamTokenize clients as the server admits.

Starts `voxgate serve` (embedded Triton, CPU reference models) with `--max-streams N` (default:
the server's own default, 4 per usable core), then opens `--overload` × N live streams, each on
its own connection, starting over one second; each sends a speech recording in 120 ms pieces at
real time. Reports, for the admitted streams, the latency of each token group counted from the
moment its look-ahead audio was sent (what a live client waits for beyond the model's own
look-ahead), and, for the refused ones, how long the refusal took. Also runs the same load with
admission off (a very high cap) for comparison, in the same run.

    python bench/admission.py [--streams N] [--overload 2] [--seconds 10] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxgate.call_limits import default_max_streams  # noqa: E402
from voxgate.interleave import GROUP_SAMPLES  # noqa: E402
from voxgate.launcher import async_local_server  # noqa: E402
from voxgate.v1 import (  # noqa: E402
    audio_pb2,
    discovery_pb2,
    discovery_pb2_grpc,
    tokenizer_pb2,
    tokenizer_pb2_grpc,
)

from bench.synthesis import LoadMonitor  # noqa: E402
from tests.conftest import speechlike  # noqa: E402

RATE = 16000
GROUP_S = GROUP_SAMPLES / RATE


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


async def _one_stream(address: str, pcm: bytes, lookahead: int, start_delay: float) -> dict:
    await asyncio.sleep(start_delay)
    channel = grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
    piece = GROUP_SAMPLES * 2
    sent_at: list[float] = []  # when the audio up to the end of group g was sent

    async def requests():
        raw = audio_pb2.RawAudioFormat(
            encoding=audio_pb2.PCM_ENCODING_S16LE, sample_rate_hz=RATE, channels=1
        )
        fmt = audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_RAW, raw=raw)
        yield tokenizer_pb2.StreamTokenizeRequest(
            config=tokenizer_pb2.StreamTokenizeConfig(format=fmt)
        )
        t0 = time.perf_counter()
        for g, at in enumerate(range(0, len(pcm), piece)):
            wait = t0 + g * GROUP_S - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            yield tokenizer_pb2.StreamTokenizeRequest(audio=pcm[at : at + piece])
            sent_at.append(time.perf_counter())

    start = time.perf_counter()
    call = tokenizer_pb2_grpc.TokenizerServiceStub(channel).StreamTokenize(requests(), timeout=120)
    latencies: list[float] = []
    try:
        async for reply in call:
            now = time.perf_counter()
            groups = len(reply.tokens.interleaved) // 5
            for g in range(reply.group_offset, reply.group_offset + groups):
                needed = min(g + lookahead, len(sent_at) - 1)
                if not reply.final and needed < len(sent_at):
                    latencies.append(now - sent_at[needed])
        return {"outcome": "OK", "latencies": latencies}
    except grpc.aio.AioRpcError as err:
        outcome = err.code().name
        if outcome == "INTERNAL" and err.details() == "Internal error from Core":
            # grpc-python aio client bug (grpc/grpc#36066): a write that fails because the
            # server already ended the call hides the server's status (RESOURCE_EXHAUSTED
            # here: nothing else ends a call this early). The sync client reports it.
            outcome = "RESOURCE_EXHAUSTED"
        elif outcome != "RESOURCE_EXHAUSTED":
            outcome += f": {err.details()}"
        return {"outcome": outcome, "after_s": time.perf_counter() - start, "latencies": latencies}
    finally:
        await channel.close()


async def _round(address: str, clients: int, pcm: bytes, lookahead: int) -> dict:
    tasks = [_one_stream(address, pcm, lookahead, start_delay=i / clients) for i in range(clients)]
    results = await asyncio.gather(*tasks)
    admitted = [r for r in results if r["outcome"] == "OK"]
    refused = [r for r in results if r["outcome"] == "RESOURCE_EXHAUSTED"]
    others = [r["outcome"] for r in results if r not in admitted and r not in refused]
    latencies = [x for r in admitted for x in r["latencies"]]
    refusal = [r["after_s"] for r in refused]
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {
        "clients": clients,
        "admitted": len(admitted),
        "refused": len(refused),
        "other_errors": others,
        "groups": len(latencies),
        "group_latency_ms": {
            "p50": ms(_pct(latencies, 0.5)),
            "p95": ms(_pct(latencies, 0.95)),
            "p99": ms(_pct(latencies, 0.99)),
            "max": ms(max(latencies, default=None)),
        },
        "refusal_ms": {"p50": ms(_pct(refusal, 0.5)), "p99": ms(_pct(refusal, 0.99))},
    }


async def _run_against(serve_args: tuple[str, ...], clients: int, pcm: bytes) -> dict:
    async with async_local_server("--log-level", "warning", *serve_args) as server:
        async with grpc.aio.insecure_channel(server.address) as channel:
            info = await discovery_pb2_grpc.DiscoveryServiceStub(channel).GetServerInfo(
                discovery_pb2.GetServerInfoRequest(), timeout=30
            )
        lookahead = info.token_spec.tokenizer_lookahead_groups
        await _round(server.address, 2, pcm[: RATE * 4], lookahead)  # warm up
        monitor = LoadMonitor({server.pid}).start()
        result = await _round(server.address, clients, pcm, lookahead)
        result["load"] = monitor.stop()
        result["lookahead_groups"] = lookahead
        return result


def _markdown(report: dict) -> str:
    lines = [
        "# Admission under overload (bench/admission.py)",
        "",
        f"{report['clients']} real-time StreamTokenize clients, each a {report['seconds']:.0f} s "
        f"recording in 120 ms pieces, started over 1 s; the cap is {report['max_streams']} "
        f"streams ({os.cpu_count()} cores). Group latency: reply time minus the time the "
        "group's look-ahead audio was sent.",
        "",
        "| run | admitted | refused | other errors | group p50 / p95 / p99 ms | refusal p50 / "
        "p99 ms | voxgate cores | other cores |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("capped", "uncapped"):
        r = report[name]
        g, f = r["group_latency_ms"], r["refusal_ms"]
        lines.append(
            f"| {name} | {r['admitted']} | {r['refused']} | {len(r['other_errors'])} | "
            f"{g['p50']} / {g['p95']} / {g['p99']} | {f['p50']} / {f['p99']} | "
            f"{r['load']['voxgate_cores']} | {r['load']['other_cores']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=default_max_streams())
    parser.add_argument("--overload", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    clients = round(args.streams * args.overload)
    pcm = (speechlike(args.seconds, RATE) * 32767 * 0.8).astype("<i2").tobytes()
    report = {"clients": clients, "max_streams": args.streams, "seconds": args.seconds}
    common = ("--max-streams", str(args.streams), "--max-streams-per-connection", "0")
    report["capped"] = asyncio.run(_run_against(common, clients, pcm))
    print(json.dumps(report["capped"], indent=1))
    uncapped = ("--max-streams", "100000", "--max-calls", "100000")
    report["uncapped"] = asyncio.run(_run_against(uncapped, clients, pcm))
    print(json.dumps(report["uncapped"], indent=1))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "admission.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "admission.md").write_text(_markdown(report))
    print(_markdown(report))


if __name__ == "__main__":
    main()
