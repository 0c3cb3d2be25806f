"""`python -m bench.perf` (`make perf`, `make perf-smoke`): the performance suite.

1. perf_analyzer concurrency sweeps over the models and ensembles, against a Triton of the
   suite's own on loopback TCP (bench/perf/server.py), or a remote one (`--url host:8001
   --model-config-name gpu`): perf_analyzer.csv, perf_analyzer.png.
2. voxgate's gRPC API under load (a real `voxgate serve`, embedded Triton) beside the FastAPI
   peer, same clips, same concurrency, one run: loadgen.json, loadgen_*.csv, loadgen.png.
3. summary.json / summary.md: the figures against issue 10's targets.

Exit status 2 with a message when perf_analyzer cannot be obtained (nothing is skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import onnxruntime as ort  # noqa: E402
from voxgate.launcher import local_server  # noqa: E402
from voxgate.runtime import free_port  # noqa: E402

from bench.perf import analyzer, inputs, loadgen  # noqa: E402
from bench.perf.machine import TreeRss, breakdown, load_snapshot  # noqa: E402
from bench.perf.server import loopback_triton  # noqa: E402
from bench.perf.tools import ToolMissing, perf_analyzer  # noqa: E402

# The load generator calls the TokenizerService only: the server is deployed as a platform
# team would for that path (`--services tokenizer`: Triton loads the tokenizer and decoder
# models, not the TTS, chat LLM, VAD and ASR), like the peer, which holds the tokenizers only.
# The caps are raised for the benchmark only: the defaults (4 streams per core, 64 calls)
# would refuse the 200-stream and concurrency-64 steps with RESOURCE_EXHAUSTED before anything
# is measured.
SERVE_ARGS = (
    "--log-level",
    "warning",
    "--services",
    "tokenizer",
    "--max-calls",
    "512",
    "--max-streams",
    "512",
    "--max-streams-per-connection",
    "64",
)


def perf_analyzer_part(args, out: Path) -> list[dict]:
    tool = perf_analyzer()
    plan = analyzer.targets(args.smoke)
    window = 1000 if args.smoke else args.window_ms
    with tempfile.TemporaryDirectory(prefix="voxgate-perf-inputs-") as tmp:
        data = inputs.write_inputs(Path(tmp), 2.0 if args.smoke else args.clip_s)
        if args.url:
            rows = analyzer.sweep(tool, args.url, plan, data, window, None, args.model_config_name)
        else:
            # Every target by name (an ensemble brings only the steps its config wires: not
            # the per-stream tokenizers the reference tokenize no longer runs).
            models = sorted({t.model for t in plan} | {"tokenize"})
            rows = _local_sweep(tool, plan, data, window, models)
    analyzer.write_csv(out / "perf_analyzer.csv", rows)
    analyzer.plot(out / "perf_analyzer.png", rows)
    return rows


def _local_sweep(tool, plan, data, window, models) -> list[dict]:
    try:
        server = loopback_triton(models)
        triton = server.__enter__()
    except RuntimeError as err:  # chat_llm needs its LLM wheel: measure the others
        if "chat_llm" not in models:
            raise
        print(f"chat_llm did not load, left out: {str(err)[-300:]}", flush=True)
        plan = [t for t in plan if t.model != "chat_llm"]
        server = loopback_triton([m for m in models if m != "chat_llm"])
        triton = server.__enter__()
    try:
        return analyzer.sweep(tool, triton.url, plan, data, window, triton.pid)
    finally:
        server.__exit__(None, None, None)


def loadgen_part(args, out: Path) -> dict:
    plan = loadgen.SMOKE if args.smoke else loadgen.Plan()
    wavs = [inputs.speech_clip(plan.clip_s if not args.smoke else 2.0, seed=i) for i in range(3)]
    one_s = inputs.speech_clip(1.0, seed=11)
    stream_pcm = inputs.speech_clip(plan.stream_clip_s, seed=21)
    port, joint_port = free_port(), free_port()
    with (
        local_server(*SERVE_ARGS, log_path=out / "voxgate-server.log") as server,
        loadgen.fastapi_peer(port, out / "fastapi-peer.log") as peer,
        loadgen.fastapi_peer(joint_port, out / "fastapi-joint-peer.log", joint=True) as joint,
    ):
        pids = {"voxgate": server.pid, "fastapi": peer.pid, "fastapi_joint": joint.pid}
        idle = {name: TreeRss([pid]).sample() // 1024 for name, pid in pids.items()}
        idle_by_process = breakdown([server.pid])

        async def everything() -> dict:
            urls = {
                "fastapi": f"http://127.0.0.1:{port}/tokenize",
                "fastapi_joint": f"http://127.0.0.1:{joint_port}/tokenize",
            }
            unary = await loadgen.run_unary(plan, server.address, urls, pids, wavs)
            overhead = await loadgen.run_overhead(plan, server.address, pids, one_s)
            streams = await loadgen.run_streams(plan, server.address, pids, stream_pcm)
            return {"unary": unary, "overhead": overhead, "streams": streams}

        res = asyncio.run(everything())
        res["rss_by_process_after_mb"] = breakdown([server.pid])
    res["rss_by_process_idle_mb"] = idle_by_process
    res["idle_rss_mb"] = idle
    (out / "loadgen.json").write_text(json.dumps(res, indent=1))
    _csv(out / "loadgen_unary.csv", res["unary"]["rows"])
    _csv(out / "loadgen_streams.csv", res["streams"])
    loadgen.plot(out / "loadgen.png", res["unary"], res["streams"])
    return res


def _csv(path: Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        writer.writerows({k: _cell(r.get(k)) for k in keys} for r in rows)


def _cell(value: object) -> object:
    return json.dumps(value) if isinstance(value, dict | list) else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one model, one level, seconds")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "perf")
    parser.add_argument("--url", help="a running Triton's gRPC host:port (perf_analyzer only)")
    parser.add_argument("--model-config-name", default="cpu", help="label of --url's configs")
    parser.add_argument("--window-ms", type=int, default=4000, help="perf_analyzer window")
    parser.add_argument("--clip-s", type=float, default=10.0, help="perf_analyzer clip length")
    parser.add_argument("--skip", choices=("perf_analyzer", "loadgen"), action="append", default=[])
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    report: dict = {
        "command": " ".join(["python -m bench.perf", *(argv or sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": {"arch": platform.machine(), "python": platform.python_version()},
        "onnxruntime": ort.__version__,
        "load_before": load_snapshot(),
    }
    try:
        if "perf_analyzer" not in args.skip:
            report["perf_analyzer"] = perf_analyzer_part(args, out)
            report["perf_analyzer_version"] = perf_analyzer().version()
    except ToolMissing as err:
        print(f"perf_analyzer is not available: {err}", file=sys.stderr)
        return 2
    if "loadgen" not in args.skip and not args.url:
        report["loadgen"] = loadgen_part(args, out)
    report["load_after"] = load_snapshot()
    report["seconds"] = round(time.monotonic() - t0, 1)
    from bench.perf.report import summary

    report["targets"] = summary(report)
    (out / "summary.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report["targets"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
