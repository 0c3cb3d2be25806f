"""The reference tokenizers' compute, in-process on one core (issue 10, items 3 and 4).

1. A whole clip: the two per-stream graphs one after the other vs `joint_tokenizer` (one
   analysis for both streams).
2. One live 120 ms group: the 5-group context window StreamTokenize sent to tokenize before
   `stream_tokenizer` vs that model's two stages (frontend on the group's 6 new frames, head
   on its 6 + 2W sub-frames of analysis), and the frontend batched over many streams' groups.

onnxruntime, one intra-op thread, the committed ONNX files, medians over `--repeats`. Prints a
table and writes bench/results/tokenizer_compute.{json,md}.

    python bench/tokenizer_compute.py [--repeats 15] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.perf.inputs, when run as a script

from bench.perf.inputs import session, speech_clip  # noqa: E402

GROUP = 1920


def median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 3)


def speech(seconds: float) -> np.ndarray:
    return speech_clip(seconds, seed=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    n = args.repeats
    ling = session("linguistic_tokenizer", arena=False)
    sem = session("semantic_tokenizer", arena=False)
    joint = session("joint_tokenizer", arena=False)
    front = session("stream_tokenizer", file="frontend.onnx", arena=False)
    head = session("stream_tokenizer", file="head.onnx", arena=False)
    meta = front.get_modelmeta().custom_metadata_map
    pad, hop, off = int(meta["pad"]), int(meta["hop"]), int(meta["frame_offset"])
    length, w = int(meta["frame_length"]), int(meta["norm_half_window"])

    clip = speech(10.0)[None].astype(np.float32)
    rows = {
        "10 s clip, two graphs one after the other": median_ms(
            lambda: (ling.run(None, {"waveform": clip}), sem.run(None, {"waveform": clip})), n
        ),
        "10 s clip, joint_tokenizer": median_ms(lambda: joint.run(None, {"waveform": clip}), n),
    }
    window = clip[:, : 5 * GROUP]  # a group with 2 groups of context on each side
    rows["one group as a 5-group window, joint_tokenizer"] = median_ms(
        lambda: joint.run(None, {"waveform": window}), n * 4
    )
    padded = np.concatenate([np.zeros(pad, np.float32), clip[0], np.zeros(pad, np.float32)])

    def frames_of(first: int, count: int) -> np.ndarray:
        """[1, count, frame_length] frames of sub-frames first.. of the padded clip."""
        starts = (first + np.arange(count)) * hop + off
        return np.stack([padded[x : x + length] for x in starts])[None]

    six = frames_of(40, 6)
    rows["one group, stream frontend (6 frames)"] = median_ms(
        lambda: front.run(None, {"frames": six}), n * 4
    )
    feats = dict(
        zip(
            ("cep", "ap", "voiced", "f0"),
            front.run(None, {"frames": frames_of(40, 6 + 2 * w)}),
            strict=True,
        )
    )
    rows["one group, stream head (6 + 2W sub-frames)"] = median_ms(
        lambda: head.run(None, feats), n * 4
    )
    many = frames_of(0, 6 * 50)
    rows["one group, stream frontend batched over 50 groups (per group)"] = round(
        median_ms(lambda: front.run(None, {"frames": many}), n) / 50, 3
    )
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "onnxruntime": ort.__version__,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "repeats": n,
        "median_ms": rows,
    }
    lines = [
        f"Run {report['date']}, `python bench/tokenizer_compute.py`, onnxruntime "
        f"{report['onnxruntime']}, one intra-op thread, 1-minute load {report['loadavg_1m']}.",
        "",
        "| what | median ms |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in rows.items()),
    ]
    print("\n".join(lines))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "tokenizer_compute.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "tokenizer_compute.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
