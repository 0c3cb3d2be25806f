"""Server memory under hostile inputs (issue 11): small requests that decode to a lot of audio.

Starts `voxgate serve` (voxgate.launcher; embedded Triton, default limits: 600 s of audio,
64 MiB messages), then sends each case once and reads the façade process's memory from
/proc/<pid>/status: VmRSS before, the peak (VmHWM, reset through /proc/<pid>/clear_refs just
before the call) and VmRSS 2 s after the call. Prints a table and writes
bench/results/memory.{json,md} (a run's `--label` keys its figures, so "before" and "after"
runs sit side by side).

    python bench/memory.py [--label after] [--note TEXT] [--out bench/results] [--cases a,b]

The "before" figures in bench/results/memory.md are of voxgate before issue 11 (a18ae3d), run
with this script as `PYTHONPATH=<a checkout of a18ae3d>/service python bench/memory.py
--label before -- --model-repository triton_models`.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxgate.launcher import local_server  # noqa: E402
from voxgate.v1 import audio_pb2, tokenizer_pb2, tokenizer_pb2_grpc  # noqa: E402

from tests.hostile import f32_with, flac_header, silent_flac, with_flac_total  # noqa: E402

MIB = 1024 * 1024


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def tokenize_container(data: bytes) -> Callable:
    request = tokenizer_pb2.TokenizeRequest(audio=audio_pb2.AudioInput(container=data))
    return lambda stub: stub.Tokenize(request, timeout=300)


def tokenize_raw(data: bytes, encoding: int, rate: int = 16000) -> Callable:
    fmt = audio_pb2.RawAudioFormat(encoding=encoding, sample_rate_hz=rate, channels=1)
    request = tokenizer_pb2.TokenizeRequest(
        audio=audio_pb2.AudioInput(raw=audio_pb2.RawAudio(format=fmt, data=data))
    )
    return lambda stub: stub.Tokenize(request, timeout=300)


def flac_stream_flood(total_mib: int, piece_mib: int = 1) -> Callable:
    """StreamTokenize declared FLAC: a valid FLAC start, then `total_mib` MiB more bytes."""
    config = tokenizer_pb2.StreamTokenizeRequest(
        config=tokenizer_pb2.StreamTokenizeConfig(
            format=audio_pb2.StreamAudioFormat(container=audio_pb2.AUDIO_CONTAINER_FLAC)
        )
    )
    head = flac_header()
    filler = bytes(piece_mib * MIB)

    def requests() -> Iterator[tokenizer_pb2.StreamTokenizeRequest]:
        yield config
        yield tokenizer_pb2.StreamTokenizeRequest(audio=head)
        for _ in range(total_mib // piece_mib):
            yield tokenizer_pb2.StreamTokenizeRequest(audio=filler)

    def call(stub):
        return list(stub.StreamTokenize(requests(), timeout=300))

    return call


def detokenize_max(tokens: int, rate: int, encoding: int) -> Callable:
    rng = np.random.default_rng(0)
    groups = tokens // 5
    ids = np.empty((groups, 5), np.int64)
    ids[:, :2] = rng.integers(0, 1024, (groups, 2))
    ids[:, 2:] = rng.integers(1024, 5120, (groups, 3))
    request = tokenizer_pb2.DetokenizeRequest(
        interleaved=tokenizer_pb2.InterleavedTokens(ids=ids.reshape(-1).tolist()),
        output_format=audio_pb2.OutputAudioFormat(
            container=audio_pb2.AUDIO_CONTAINER_WAV, encoding=encoding, sample_rate_hz=rate
        ),
    )
    print(f"  detokenize request: {request.ByteSize()} bytes", flush=True)
    return lambda stub: stub.Detokenize(request, timeout=300)


def cases() -> dict[str, tuple[str, Callable[[], Callable]]]:
    """name -> (description, factory of the call); factories run lazily (some take seconds)."""
    return {
        "stream_flac_256mib": (
            "StreamTokenize declared FLAC: a 192 kHz 8-channel FLAC start, then 256 MiB",
            lambda: flac_stream_flood(256),
        ),
        "flac_8ch_192k_120s": (
            "Tokenize: FLAC of silence, 8 channels, 192 kHz, 120 s",
            lambda: tokenize_container(silent_flac(192000, 8, 120)),
        ),
        "flac_1h": (
            "Tokenize: FLAC of silence, 22.05 kHz mono, one hour",
            lambda: tokenize_container(silent_flac(22050, 1, 3600)),
        ),
        "flac_1h_no_length": (
            "Tokenize: the one-hour FLAC with its STREAMINFO length cleared (unknown)",
            lambda: tokenize_container(with_flac_total(silent_flac(22050, 1, 3600), 0)),
        ),
        "flac_absurd_length": (
            "Tokenize: a 1 s FLAC (8 ch) whose STREAMINFO claims 2^36-1 samples",
            lambda: tokenize_container(with_flac_total(silent_flac(192000, 8, 1), (1 << 36) - 1)),
        ),
        "detokenize_192k_s32": (
            "Detokenize: 25000 ids (600 s) as 192 kHz S32 WAV",
            lambda: detokenize_max(25000, 192000, audio_pb2.PCM_ENCODING_S32LE),
        ),
        "f32_sample_1e30": (
            "Tokenize: 1 s of F32 PCM with one finite sample = 1e30",
            lambda: tokenize_raw(f32_with(1e30), audio_pb2.PCM_ENCODING_F32LE),
        ),
    }


def run_case(stub, pid: int, call: Callable) -> dict:
    time.sleep(1.0)
    before = status_kib(pid, "VmRSS")
    reset_peak(pid)
    start = time.perf_counter()
    try:
        call(stub)
        code, details = "OK", ""
    except grpc.RpcError as err:
        code, details = err.code().name, err.details()
    seconds = time.perf_counter() - start
    time.sleep(2.0)
    peak, after = status_kib(pid, "VmHWM"), status_kib(pid, "VmRSS")
    return {
        "code": code,
        "details": details[:200],
        "seconds": round(seconds, 2),
        "rss_before_mb": round(before / 1024, 1),
        "rss_peak_mb": round(peak / 1024, 1),
        "rss_after_mb": round(after / 1024, 1),
        "peak_growth_mb": round((peak - before) / 1024, 1),
        "held_after_mb": round((after - before) / 1024, 1),
    }


def write_markdown(path: Path, data: dict) -> None:
    labels = list(data["runs"])
    lines = [
        "# Façade memory under hostile inputs",
        "",
        "`python bench/memory.py --label LABEL`: one `voxgate serve` (embedded Triton, default",
        "limits: 600 s of audio, 64 MiB messages), each case sent once; the façade process's",
        "VmRSS before the call, its peak (VmHWM, reset just before the call) and VmRSS 2 s after.",
        "",
        f"Machine: {data['machine']}.",
        "",
    ]
    for label in labels:
        run = data["runs"][label]
        lines += [
            f"## {label}",
            "",
            f"{run.get('when', '')}. {run.get('note', '')}",
            "",
            "| case | status | s | RSS before MB | peak MB | growth MB | held after MB |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for name, r in run["cases"].items():
            lines.append(
                f"| {name} | {r['code']} | {r['seconds']} | {r['rss_before_mb']} | "
                f"{r['rss_peak_mb']} | {r['peak_growth_mb']} | {r['held_after_mb']} |"
            )
        lines += ["", "Status messages:", ""]
        for name, r in run["cases"].items():
            lines.append(f"- {name}: {r['code']} {r['details']!r}")
        lines.append("")
    lines += ["## Cases", ""]
    for name, (description, _) in cases().items():
        lines.append(f"- `{name}`: {description}")
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--cases", default="", help="comma-separated subset")
    parser.add_argument("--note", default="", help="what was measured (shown with the run)")
    parser.add_argument("serve_args", nargs="*", help="extra `voxgate serve` options")
    args = parser.parse_args()
    chosen = {k: v for k, v in cases().items() if not args.cases or k in args.cases.split(",")}

    results = {}
    with local_server("--log-level", "warning", "--metrics-port", "0", *args.serve_args) as srv:
        channel = grpc.insecure_channel(
            srv.address,
            options=[
                ("grpc.max_send_message_length", 300 * MIB),
                ("grpc.max_receive_message_length", 300 * MIB),
            ],
        )
        stub = tokenizer_pb2_grpc.TokenizerServiceStub(channel)
        for name, (_, factory) in chosen.items():
            call = factory()
            results[name] = run_case(stub, srv.pid, call)
            r = results[name]
            print(
                f"{name:24s} {r['code']:18s} {r['seconds']:7.2f} s  RSS {r['rss_before_mb']:.0f}"
                f" -> peak {r['rss_peak_mb']:.0f} -> {r['rss_after_mb']:.0f} MB",
                flush=True,
            )
        channel.close()

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "memory.json"
    data = json.loads(path.read_text()) if path.exists() else {"runs": {}}
    data["machine"] = f"{platform.machine()}, {platform.python_version()}"
    data["runs"][args.label] = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "note": args.note,
        "cases": results,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    write_markdown(args.out / "memory.md", data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
