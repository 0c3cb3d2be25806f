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
