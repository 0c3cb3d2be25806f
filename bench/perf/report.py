"""The suite's figures against issue 10's targets (summary.json `targets`)."""

from __future__ import annotations


def _target(name: str, measured: object, goal: str, met: bool | None, how: str) -> dict:
    return {"target": name, "measured": measured, "goal": goal, "met": met, "from": how}


def summary(report: dict) -> list[dict]:
    lg = report.get("loadgen")
    if not lg:
        return []
    out = []
    comp = {r["concurrency"]: r for r in lg["unary"]["comparison"]}
    c = 16 if 16 in comp else max(comp, default=None)
    if c is not None:
        r = comp[c]
        met = r["throughput_ratio"] >= 1.5 and r["voxgate_p99_ms"] <= r["fastapi_p99_ms"]
        out.append(
            _target(
                f"Tokenize throughput vs FastAPI peer ({lg['unary']['clip_s']:g} s clips, c={c})",
                {
                    "ratio": r["throughput_ratio"],
                    "voxgate_req_per_s": r["voxgate_req_per_s"],
                    "fastapi_req_per_s": r["fastapi_req_per_s"],
                    "voxgate_p99_ms": r["voxgate_p99_ms"],
                    "fastapi_p99_ms": r["fastapi_p99_ms"],
                    # against a peer that also runs the joint graph: what serving alone gives
                    "ratio_vs_joint_graph_peer": r.get("throughput_ratio_joint"),
                },
                ">= 1.5x at equal or better p99",
                met,
                "loadgen closed loop, medians of repeats",
            )
        )
    if lg["streams"]:
        s = max(lg["streams"], key=lambda r: r["streams"])
        p95 = s["group_p95_ms"]
        met = s["streams"] >= 200 and p95 is not None and p95 <= 100 and not s["errors"]
        out.append(
            _target(
                "live StreamTokenize streams",
                {k: s[k] for k in ("streams", "ok", "errors", "group_p95_ms", "peak_rss_mb")},
                ">= 200 streams, p95 per-group latency after look-ahead <= 100 ms, 0 errors",
                met,
                "loadgen real-time streams",
            )
        )
    peaks = [r["peak_rss_mb"] for r in lg["unary"]["rows"] if r["target"] == "voxgate"]
    peaks += [r["peak_rss_mb"] for r in lg["streams"]]
    peak = max(peaks)
    out.append(
        _target(
            "whole process tree RSS at peak (voxgate + tritonserver + stubs)",
            {"peak_mb": peak, "idle_mb": lg["idle_rss_mb"]["voxgate"]},
            "<= 600 MB",
            peak <= 600,
            "sampled every 0.2 s during every voxgate step",
        )
    )
    o = lg["overhead"]
    out.append(
        _target(
            "façade overhead, 1 s clips, concurrency 1",
            {k: o[k] for k in ("overhead_p50_ms", "grpc_p50_ms", "in_process_p50_ms")},
            "<= 2 ms over the in-process floor",
            o["overhead_p50_ms"] <= 2.0,
            "medians, alternating gRPC / in-process",
        )
    )
    return out


# -- markdown: `python -m bench.perf.report DIR` prints a run's tables for docs/benchmarks.md ----


def _row(cells: list) -> str:
    return "| " + " | ".join("" if c is None else str(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list]) -> list[str]:
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows)]


def _measured(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def markdown(report: dict, analyzer_rows: list[dict]) -> str:
    """A run's summary.json (and perf_analyzer.csv rows) as the markdown tables of the doc."""
    out = [
        f"Run {report['date']}, `{report['command']}`, {report['seconds']} s; onnxruntime "
        f"{report['onnxruntime']}. 1-minute load before {report['load_before']['loadavg_1m']}, "
        f"after {report['load_after']['loadavg_1m']} (2 cores).",
        "",
        "| target | goal | measured | met |",
        "|---|---|---|---|",
        *(
            _row([t["target"], t["goal"], _measured(t["measured"]), "yes" if t["met"] else "no"])
            for t in report.get("targets", [])
        ),
    ]
    if analyzer_rows:
        keys = ["model", "concurrency", "infer_per_s", "p50_ms", "p99_ms"]
        keys += ["server_tree_peak_rss_mb", "loadavg_1m", "error"]
        out += ["", *_table(keys, [[r.get(k) for k in keys] for r in analyzer_rows])]
    lg = report.get("loadgen")
    if lg:
        comp = lg["unary"]["comparison"]
        head = ["c", "voxgate req/s (p99 ms)", "peer, two graphs", "peer, joint graph"]
        head += ["ratio vs two graphs", "ratio vs joint graph", "voxgate tree peak MB"]
        rows = [
            [
                r["concurrency"],
                *(
                    f"{r.get(f'{n}_req_per_s')} ({r.get(f'{n}_p99_ms')})"
                    for n in ("voxgate", "fastapi", "fastapi_joint")
                ),
                r.get("throughput_ratio"),
                r.get("throughput_ratio_joint"),
                r.get("voxgate_peak_rss_mb"),
            ]
            for r in comp
        ]
        out += ["", *_table(head, rows)]
        head = ["streams", "ok", "errors", "group p50 / p95 / p99 ms", "first response p50 ms"]
        head += ["gap p95 ms", "tree peak MB", "load 1m"]
        rows = [
            [
                s["streams"],
                s["ok"],
                s["errors"] or 0,
                f"{s['group_p50_ms']} / {s['group_p95_ms']} / {s['group_p99_ms']}",
                s["first_response_p50_ms"],
                s["gap_p95_ms"],
                s["peak_rss_mb"],
                s["loadavg_1m"],
            ]
            for s in lg["streams"]
        ]
        out += ["", *_table(head, rows)]
        o = lg["overhead"]
        out += [
            "",
            f"Façade overhead, 1 s clip, c=1: gRPC p50 {o['grpc_p50_ms']} ms, in-process "
            f"p50 {o['in_process_p50_ms']} ms, overhead {o['overhead_p50_ms']} ms "
            f"({o['repeats']} alternating pairs).",
            "",
            f"Idle tree (MB): {lg['idle_rss_mb']}; voxgate by process: "
            + ", ".join(f"{k} {v}" for k, v in lg["rss_by_process_idle_mb"].items()),
        ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import csv
    import json
    import sys
    from pathlib import Path

    run = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results/perf")
    csv_path = run / "perf_analyzer.csv"
    rows = list(csv.DictReader(csv_path.open())) if csv_path.exists() else []
    print(markdown(json.loads((run / "summary.json").read_text()), rows))
