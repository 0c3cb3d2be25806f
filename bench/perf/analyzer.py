"""perf_analyzer concurrency sweeps over the models and ensembles of a Triton repository.

Each (model, concurrency) point is one perf_analyzer run (`-f` CSV), so a point that does not
stabilise on a busy machine is recorded as failed and the sweep goes on. Latencies are in
milliseconds, throughput in inferences/s; audio seconds per second = throughput × clip length.
"""

from __future__ import annotations

import csv
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.perf.machine import TreeRss, load_snapshot
from bench.perf.tools import PerfAnalyzer


@dataclass(frozen=True)
class Target:
    model: str
    data: str  # key of inputs.write_inputs: which JSON feeds it
    concurrency: tuple[int, ...]
    streaming: bool = False  # decoupled models: gRPC streaming API
    kind: str = "model"  # model | ensemble | decoupled
    # Windows whose latencies differ by more than this (%) are not stable: a shared 2-core
    # machine rarely settles at 10 % (the default).
    stability_percentage: int = 25
    args: tuple[str, ...] = ()  # more perf_analyzer flags


# Decoupled generators take seconds per request: windows of a request count, looser stability.
STREAMING_ARGS = [
    "--streaming",
    "--measurement-mode",
    "count_windows",
    "--measurement-request-count",
    "4",
]
# The CI smoke run checks that the suite works, not how fast: windows of a request count, and
# any three accepted as stable, so a loaded machine still gives figures.
SMOKE_ARGS = ("--measurement-mode", "count_windows", "--measurement-request-count", "5")


def targets(smoke: bool) -> list[Target]:
    if smoke:
        return [
            Target(
                "tokenize",
                "waveform",
                (1,),
                kind="ensemble",
                stability_percentage=10_000,
                args=SMOKE_ARGS,
            )
        ]
    wide, narrow = (1, 2, 4, 8, 16), (1, 4, 16)
    return [
        Target("tokenize", "waveform", wide, kind="ensemble"),
        Target("joint_tokenizer", "waveform", narrow),
        Target("linguistic_tokenizer", "waveform", narrow),
        Target("semantic_tokenizer", "waveform", narrow),
        Target("detokenize", "audio_tokens", narrow, kind="ensemble"),
        Target("token_decoder", "audio_tokens", narrow),
        Target("vocoder", "acoustic_features", narrow),
        Target("tts_generator", "text", (1, 2, 4), True, "decoupled", stability_percentage=50),
        Target("chat_llm", "messages", (1, 2), True, "decoupled", stability_percentage=50),
    ]


def _us_to_ms(row: dict, key: str) -> float | None:
    value = row.get(key)
    return round(float(value) / 1000, 2) if value not in (None, "") else None


def run_point(
    tool: PerfAnalyzer,
    url: str,
    target: Target,
    concurrency: int,
    data: Path,
    window_ms: int,
    server_pid: int | None,
    model_config_name: str = "cpu",
    timeout_s: float = 180.0,
) -> dict:
    """One perf_analyzer run at one concurrency; returns a result row (with `error` if none)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pa.csv"
        cmd = [
            str(tool.binary),
            "-m",
            target.model,
            "-u",
            url,
            "-i",
            "grpc",
            "--input-data",
            str(data),
            "--concurrency-range",
            f"{concurrency}:{concurrency}",
            "--measurement-interval",
            str(window_ms),
            "--max-trials",
            "5",
            "--stability-percentage",
            str(target.stability_percentage),
            "--percentile",
            "99",
            "-f",
            str(out),
            *(STREAMING_ARGS if target.streaming else []),
            *target.args,
        ]
        load = load_snapshot([server_pid] if server_pid else [])
        t0 = time.monotonic()
        with TreeRss([server_pid] if server_pid else []) as rss:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                env=tool.env,
                timeout=20 * window_ms / 1000 + 60,
            )
        row = {
            "model": target.model,
            "kind": target.kind,
            "concurrency": concurrency,
            "streaming": target.streaming,
            "model_config_name": model_config_name,
            "seconds": round(time.monotonic() - t0, 1),
            "server_tree_peak_rss_mb": rss.peak_mb if server_pid else None,
            "loadavg_1m": load["loadavg_1m"],
            "other_heavy": ";".join(
                f"{p['comm']}:{p['cpu_pct']}%" for p in load["other_heavy_processes"]
            ),
        }
        if done.returncode != 0 or not out.exists():
            lines = (done.stdout + done.stderr).strip().splitlines()
            row["error"] = " | ".join(lines[-3:])[-400:]
            return row
        (pa,) = list(csv.DictReader(out.open()))
    row.update(
        {
            "infer_per_s": round(float(pa["Inferences/Second"]), 2),
            "p50_ms": _us_to_ms(pa, "p50 latency"),
            "p95_ms": _us_to_ms(pa, "p95 latency"),
            "p99_ms": _us_to_ms(pa, "p99 latency"),
            "avg_ms": _us_to_ms(pa, "Avg latency"),
            "server_queue_ms": _us_to_ms(pa, "Server Queue"),
            "server_compute_ms": _us_to_ms(pa, "Server Compute Infer"),
            "error": "",
        }
    )
    return row


def sweep(
    tool: PerfAnalyzer,
    url: str,
    plan: list[Target],
    data: dict[str, Path],
    window_ms: int,
    server_pid: int | None,
    model_config_name: str = "cpu",
) -> list[dict]:
    rows = []
    for target in plan:
        for c in target.concurrency:
            row = run_point(
                tool, url, target, c, data[target.data], window_ms, server_pid, model_config_name
            )
            rows.append(row)
            shown = row.get("error") or (
                f"{row['infer_per_s']} infer/s p50 {row['p50_ms']} p99 {row['p99_ms']} ms"
            )
            print(f"perf_analyzer {target.model} c={c}: {shown}", flush=True)
    return rows


FIELDS = [
    "model", "kind", "concurrency", "streaming", "model_config_name", "infer_per_s", "p50_ms",
    "p95_ms", "p99_ms", "avg_ms", "server_queue_ms", "server_compute_ms",
    "server_tree_peak_rss_mb", "loadavg_1m", "other_heavy", "seconds", "error",
]  # fmt: skip


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def plot(path: Path, rows: list[dict]) -> None:
    """Throughput and p99 latency against concurrency, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for model in dict.fromkeys(r["model"] for r in rows):
        ok = [r for r in rows if r["model"] == model and not r.get("error")]
        if not ok:
            continue
        c = [r["concurrency"] for r in ok]
        a.plot(c, [r["infer_per_s"] for r in ok], marker="o", label=model)
        b.plot(c, [r["p99_ms"] for r in ok], marker="o", label=model)
    for ax, label in ((a, "inferences / s"), (b, "p99 latency (ms)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrency")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    b.set_yscale("log")
    a.legend(fontsize=7)
    a.set_title("perf_analyzer: throughput")
    b.set_title("perf_analyzer: p99 latency")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
