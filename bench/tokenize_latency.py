"""Tokenize latency through gRPC + Triton versus the same ONNX models run in-process.

Starts `voxgate serve` (voxgate.launcher; embedded Triton, CPU reference models), then for 1 s,
10 s and 60 s clips alternates, repeat by repeat, (a) a gRPC Tokenize call and (b) the two
tokenizer ONNX graphs run in this process with onnxruntime, side by side in two threads as the
Triton ensemble runs them, with the same session options as the Triton models (1 intra-op
thread). Prints medians and writes bench/results/tokenize_latency.{json,md}.

    python bench/tokenize_latency.py [--repeats 15] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxgate.client import VoxgateClient  # noqa: E402
from voxgate.launcher import local_server  # noqa: E402
from voxgate.model_names import LINGUISTIC_TOKENIZER, SEMANTIC_TOKENIZER  # noqa: E402

from tests.conftest import speechlike, wav_bytes  # noqa: E402

CLIPS = (1.0, 10.0, 60.0)


def session(name: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    path = ROOT / "triton_models" / name / "1" / "model.onnx"
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    ling, sem = session(LINGUISTIC_TOKENIZER), session(SEMANTIC_TOKENIZER)
    pool = ThreadPoolExecutor(2)

    def in_process(wav: np.ndarray) -> None:
        x = wav[None, :]
        a = pool.submit(ling.run, None, {"waveform": x})
        b = pool.submit(sem.run, None, {"waveform": x})
        a.result(), b.result()

    rows = []
    with (
        local_server("--log-level", "warning") as server,
        VoxgateClient(server.address, timeout_s=300) as client,
    ):
        for seconds in CLIPS:
            wav = speechlike(seconds, seed=int(seconds))
            data = wav_bytes(wav, 16000)
            client.tokenize(data)  # warm-up both paths
            in_process(wav)
            grpc_s, local_s = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                client.tokenize(data)
                t1 = time.perf_counter()
                in_process(wav)
                t2 = time.perf_counter()
                grpc_s.append(t1 - t0)
                local_s.append(t2 - t1)
            g, m = statistics.median(grpc_s), statistics.median(local_s)
            rows.append(
                {
                    "clip_s": seconds,
                    "repeats": args.repeats,
                    "grpc_median_ms": round(g * 1000, 2),
                    "in_process_median_ms": round(m * 1000, 2),
                    "overhead_ms": round((g - m) * 1000, 2),
                    "overhead_pct": round(100 * (g - m) / m, 1),
                    "grpc_rtf": round(g / seconds, 4),
                }
            )
            print(rows[-1], flush=True)
    write(args.out, rows)
    return 0


def write(out: Path, rows: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    (out / "tokenize_latency.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [
        "# Tokenize latency: gRPC + Triton vs in-process ONNX (medians)",
        "",
        f"{meta['date']}, {meta['machine']}, Python {meta['python']}, "
        f"onnxruntime {meta['onnxruntime']}. Command: `python bench/tokenize_latency.py`.",
        "",
        "| clip | gRPC (ms) | in-process (ms) | overhead (ms) | overhead | gRPC RTF |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['clip_s']:g} s | {r['grpc_median_ms']} | {r['in_process_median_ms']} | "
        f"{r['overhead_ms']} | {r['overhead_pct']}% | {r['grpc_rtf']} |"
        for r in rows
    ]
    (out / "tokenize_latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
