"""Chat benchmark: voice-to-voice latency, barge-in, VAD accuracy, ASR WER, LLM speed.

Starts `voxgate serve` (voxgate.launcher: embedded Triton, the CPU models) and talks to it over
gRPC as live users would: flite speech (voice slt) sent as 16 kHz S16LE in 100 ms pieces at
real-time pace, reply audio requested as RAW S16LE (streamed piece by piece).

  latency  voice-to-voice: the moment the last piece holding speech was sent (the end of the
           user's speech, client clock) -> the first reply message carrying audio bytes; p50
           and p95 at 1 and 4 concurrent conversations (each asks its questions one after
           another), with the silence window stated; the server's own breakdown (TurnEnd
           latency: transcript, first text, first audio, from its end-of-speech)
  bargein  a reply is running (text turn asking for a story); then either speech starts
           (server VAD) or the client sends `interrupt`: time to the interrupted TurnEnd
           (no reply byte comes after it), and to the LLM stopping (Triton's
           voxgate_llm_requests_total{outcome="cancelled"} counting it, polled every 5 ms)
  vad      speech_started / speech_stopped offsets vs the truth (flite sentences joined with
           0.8-1.5 s silences; truth from the signal's energy), in ms
  wer      final transcripts of 10 spoken questions vs their text (whisper tiny.en, int8)
  llm      tokens/s of the deployed chat_llm in text-only replies (first to last text delta)

Writes bench/results/chat.{json,md}.

    python bench/chat.py [latency bargein vad wer llm] [--silence-ms 300] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import grpc
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from metrics import corpus_wer
from synthesis import LoadMonitor, _pct
from voxgate.reference import corpus
from voxgate.v1 import audio_pb2, chat_pb2, chat_pb2_grpc

RATE = 16000
PIECE = RATE // 10
QUESTIONS = [
    "What is the capital of France?",
    "How many days are there in a week?",
    "What color is the sky on a clear day?",
    "Can you name a large animal that lives in Africa?",
    "What do bees make?",
    "Which planet do we live on?",
    "What is the opposite of hot?",
    "How many legs does a spider have?",
    "What do you call a baby cat?",
    "Which season comes after winter?",
]
RAW_IN = audio_pb2.StreamAudioFormat(
    container=audio_pb2.AUDIO_CONTAINER_RAW,
    raw=audio_pb2.RawAudioFormat(
        encoding=audio_pb2.PCM_ENCODING_S16LE, sample_rate_hz=RATE, channels=1
    ),
)
RAW_OUT = audio_pb2.OutputAudioFormat(
    container=audio_pb2.AUDIO_CONTAINER_RAW, encoding=audio_pb2.PCM_ENCODING_S16LE
)
STORY = "Tell me a long story about a brave knight and a dragon."


def pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def speech_bounds(x: np.ndarray) -> tuple[int, int]:
    """First and last sample of speech: 10 ms frames within 40 dB of the loudest."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    db = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
    loud = np.flatnonzero(db > db.max() - 40)
    return int(loud[0] * 160), int((loud[-1] + 1) * 160)


def stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 1),
        "p95": round(_pct(values, 95), 1),
        "p99": round(_pct(values, 99), 1),
        "max": round(max(values), 1),
    }


def config(silence_ms: int, **kw) -> chat_pb2.ChatRequest:
    kw.setdefault("max_reply_tokens", 32)
    kw.setdefault("seed", 1)  # the server's default temperature (0.2): greedy SmolLM2 often
    # starts in French
    return chat_pb2.ChatRequest(
        config=chat_pb2.ChatConfig(
            input_format=RAW_IN,
            output_format=RAW_OUT,
            turn_detection=chat_pb2.TurnDetection(silence_ms=silence_ms),
            **kw,
        )
    )


async def read_turn(call, turn: int, on_message=None) -> list[tuple[float, chat_pb2.ChatResponse]]:
    out = []
    while True:
        r = await call.read()
        if r is grpc.aio.EOF:
            raise RuntimeError("stream ended before TurnEnd")
        t = time.perf_counter()
        out.append((t, r))
        if on_message:
            on_message(t, r)
        if r.HasField("turn_end") and r.turn_index == turn:
            return out


async def speak(call, wav: np.ndarray, silence_s: float) -> float:
    """Sends speech at real-time pace, then silence; returns when the speech's last sample was
    sent (perf_counter)."""
    _, end = speech_bounds(wav)
    whole = np.concatenate([wav, np.zeros(int(silence_s * RATE), np.float32)])
    t0 = time.perf_counter()
    speech_sent = t0
    for i, at in enumerate(range(0, len(whole), PIECE)):
        await asyncio.sleep(max(0.0, t0 + i * 0.1 - time.perf_counter()))
        await call.write(
            chat_pb2.ChatRequest(input=chat_pb2.UserInput(audio=pcm(whole[at : at + PIECE])))
        )
        if at < end <= at + PIECE:
            # the piece holding the last speech sample: its end would be spoken at send time
            speech_sent = time.perf_counter() - (at + PIECE - end) / RATE
    return speech_sent


# -- latency ------------------------------------------------------------------------------------


async def conversation(stub, wavs: list[np.ndarray], silence_ms: int) -> list[dict]:
    call = stub.Chat(timeout=600)
    await call.write(config(silence_ms))
    rows = []
    for turn, wav in enumerate(wavs):
        sender = asyncio.create_task(speak(call, wav, silence_s=silence_ms / 1000 + 1.5))
        messages = await read_turn(call, turn)
        speech_end = await sender
        first_audio = next(t for t, r in messages if r.HasField("audio") and r.audio.data)
        end = messages[-1][1].turn_end
        rows.append(
            {
                "v2v_ms": (first_audio - speech_end) * 1000,
                "server_transcript_ms": end.latency.transcript_ms,
                "server_first_text_ms": end.latency.first_text_ms,
                "server_first_audio_ms": end.latency.first_audio_ms,
                "transcript": end.user_transcript,
                "reply": end.text,
            }
        )
    await call.done_writing()
    while await call.read() is not grpc.aio.EOF:
        pass
    return rows


async def latency(address: str, wavs: list[np.ndarray], silence_ms: int, rounds: int) -> list:
    out = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        await conversation(stub, wavs[:1], silence_ms)  # warm-up
        for c in (1, 4):
            monitor = LoadMonitor(set()).start()
            per = [wavs[(i * 3) % len(wavs) :] + wavs[: (i * 3) % len(wavs)] for i in range(c)]
            results = await asyncio.gather(
                *(conversation(stub, p[:rounds], silence_ms) for p in per)
            )
            load = monitor.stop()
            rows = [r for rs in results for r in rs]
            row = {"concurrency": c, "silence_ms": silence_ms, "turns": len(rows), "load": load}
            for key in (
                "v2v_ms",
                "server_transcript_ms",
                "server_first_text_ms",
                "server_first_audio_ms",
            ):
                row[key] = stats([r[key] for r in rows])
            row["examples"] = [(r["transcript"], r["reply"][:60]) for r in rows[:3]]
            print(json.dumps({k: v for k, v in row.items() if k != "load"}), flush=True)
            out.append(row)
    return out


# -- barge-in -----------------------------------------------------------------------------------


def cancelled_count(metrics_url: str) -> float:
    text = urllib.request.urlopen(metrics_url, timeout=2).read().decode()
    for line in text.splitlines():
        if line.startswith('voxgate_llm_requests_total{outcome="cancelled"}'):
            return float(line.split()[-1])
    return 0.0


async def barge_in_once(stub, how: str, wav: np.ndarray, metrics_url: str) -> dict:
    call = stub.Chat(timeout=300)
    await call.write(config(300, max_reply_tokens=200, temperature=0.7))
    await call.write(chat_pb2.ChatRequest(input=chat_pb2.UserInput(text=STORY, end_of_turn=True)))
    while not (await call.read()).HasField("audio"):
        pass
    before = await asyncio.to_thread(cancelled_count, metrics_url)
    llm_stopped: list[float] = []

    async def watch() -> None:
        while await asyncio.to_thread(cancelled_count, metrics_url) <= before:
            await asyncio.sleep(0.005)
        llm_stopped.append(time.perf_counter())

    watcher = asyncio.create_task(watch())
    if how == "interrupt":
        t0 = time.perf_counter()
        await call.write(chat_pb2.ChatRequest(interrupt=chat_pb2.Interrupt()))
        sender = None
    else:
        start, _ = speech_bounds(wav)
        t0 = time.perf_counter() + start / RATE  # speech onset, as sent in real time
        sender = asyncio.create_task(speak(call, wav, silence_s=0.8))
    last_reply_byte = t0
    messages = await read_turn(call, 0)
    for t, m in messages:
        if m.turn_index == 0 and (m.HasField("audio") or m.HasField("text_delta")):
            last_reply_byte = t
    ended = messages[-1][0]
    await asyncio.wait_for(watcher, 10)
    if sender:
        await sender
    call.cancel()
    return {
        "turn_end_ms": (ended - t0) * 1000,
        "last_reply_byte_ms": max(0.0, (last_reply_byte - t0) * 1000),
        "llm_stopped_ms": (llm_stopped[0] - t0) * 1000,
    }


async def barge_in(address: str, metrics_url: str, wav: np.ndarray, rounds: int) -> list:
    out = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        for how in ("interrupt", "speech"):
            rows = [await barge_in_once(stub, how, wav, metrics_url) for _ in range(rounds)]
            row = {"trigger": how, **{k: stats([r[k] for r in rows]) for k in rows[0]}}
            print(json.dumps(row), flush=True)
            out.append(row)
    return out


# -- VAD and WER --------------------------------------------------------------------------------


async def vad_accuracy(address: str, wavs: list[np.ndarray]) -> dict:
    rng = np.random.default_rng(0)
    parts, truth, at = [], [], 0
    for w in wavs:
        gap = np.zeros(int(rng.uniform(0.8, 1.5) * RATE), np.float32)
        a, b = speech_bounds(w)
        parts += [gap, w]
        at += len(gap)
        truth.append(((at + a) * 1000 // RATE, (at + b) * 1000 // RATE))
        at += len(w)
    whole = np.concatenate([*parts, np.zeros(RATE, np.float32)])
    async with grpc.aio.insecure_channel(address) as channel:
        call = chat_pb2_grpc.ChatServiceStub(channel).Chat(timeout=600)
        await call.write(config(500, text_only=True, max_reply_tokens=1))
        got: list[tuple[str, int]] = []

        async def reader() -> None:
            while (r := await call.read()) is not grpc.aio.EOF:
                if r.HasField("speech_started"):
                    got.append(("start", r.speech_started.audio_offset_ms))
                if r.HasField("speech_stopped"):
                    got.append(("stop", r.speech_stopped.audio_offset_ms))

        task = asyncio.create_task(reader())
        for at in range(0, len(whole), PIECE * 5):  # 0.5 s pieces, 5x real time
            await call.write(
                chat_pb2.ChatRequest(
                    input=chat_pb2.UserInput(audio=pcm(whole[at : at + PIECE * 5]))
                )
            )
            await asyncio.sleep(0.1)
        await call.done_writing()
        await task
    starts = [v for k, v in got if k == "start"]
    stops = [v for k, v in got if k == "stop"]
    onset = [s - t[0] for s, t in zip(starts, truth, strict=False)]
    offset = [s - t[1] for s, t in zip(stops, truth, strict=False)]
    row = {
        "utterances": len(truth),
        "detected_starts": len(starts),
        "detected_stops": len(stops),
        "onset_error_ms": onset,
        "offset_error_ms": offset,
        "onset_abs_median_ms": statistics.median(map(abs, onset)) if onset else None,
        "offset_abs_median_ms": statistics.median(map(abs, offset)) if offset else None,
    }
    print(json.dumps(row), flush=True)
    return row


async def wer_and_llm(address: str, wavs: list[np.ndarray]) -> tuple[dict, dict]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        rows = await conversation(stub, wavs, 500)
        hyps = [r["transcript"] for r in rows]
        wer = {
            "sentences": len(wavs),
            "wer": round(corpus_wer(QUESTIONS[: len(wavs)], hyps), 4),
            "pairs": list(zip(QUESTIONS, hyps, strict=False)),
        }
        print(json.dumps(wer), flush=True)
        speeds = []
        for q in QUESTIONS[:5]:
            call = stub.Chat(timeout=300)
            await call.write(
                chat_pb2.ChatRequest(
                    config=chat_pb2.ChatConfig(
                        text_only=True, max_reply_tokens=96, temperature=0.2, seed=1
                    )
                )
            )
            await call.write(
                chat_pb2.ChatRequest(
                    input=chat_pb2.UserInput(text=STORY + " " + q, end_of_turn=True)
                )
            )
            messages = await read_turn(call, 0)
            deltas = [t for t, m in messages if m.HasField("text_delta")]
            tokens = messages[-1][1].turn_end.reply_tokens
            if len(deltas) > 1:
                speeds.append((tokens - 1) / (deltas[-1] - deltas[0]))
            await call.done_writing()
        llm = {"replies": len(speeds), "tokens_per_s": stats(speeds)}
        print(json.dumps(llm), flush=True)
        return wer, llm


# -- main ---------------------------------------------------------------------------------------


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def markdown(results: dict) -> str:
    lines = ["# Chat benchmark", "", f"`{results['command']}`; {results['when']}", ""]
    if "latency" in results:
        lines += [
            "## Voice-to-voice latency (end of user speech -> first reply audio byte), ms",
            "",
            _row(
                "conversations",
                "silence window",
                "turns",
                "p50",
                "p95",
                "server: transcript p50",
                "first text p50",
                "first audio p50",
                "cores: voxgate / other",
            ),
            _row(*["---"] * 9),
        ]
        for r in results["latency"]:
            lines.append(
                _row(
                    r["concurrency"],
                    f"{r['silence_ms']} ms",
                    r["turns"],
                    r["v2v_ms"]["p50"],
                    r["v2v_ms"]["p95"],
                    r["server_transcript_ms"]["p50"],
                    r["server_first_text_ms"]["p50"],
                    r["server_first_audio_ms"]["p50"],
                    f"{r['load']['voxgate_cores']} / {r['load']['other_cores']}",
                )
            )
        lines.append("")
    if "bargein" in results:
        lines += [
            "## Barge-in, ms from the trigger",
            "",
            _row(
                "trigger",
                "n",
                "TurnEnd p50 / p99",
                "last reply byte p50 / p99",
                "LLM stopped p50 / p99",
            ),
            _row(*["---"] * 5),
        ]
        for r in results["bargein"]:
            e, b, s_ = r["turn_end_ms"], r["last_reply_byte_ms"], r["llm_stopped_ms"]
            lines.append(
                _row(
                    r["trigger"],
                    e["n"],
                    f"{e['p50']} / {e['p99']}",
                    f"{b['p50']} / {b['p99']}",
                    f"{s_['p50']} / {s_['p99']}",
                )
            )
        lines.append("")
    if "vad" in results:
        v = results["vad"]
        lines += [
            "## VAD (server turn detection, threshold 0.5, silence 500 ms)",
            "",
            f"{v['utterances']} utterances, {v['detected_starts']} starts and "
            f"{v['detected_stops']} stops detected; onset error median |e| "
            f"{v['onset_abs_median_ms']} ms ({v['onset_error_ms']}); offset error median |e| "
            f"{v['offset_abs_median_ms']} ms ({v['offset_error_ms']})",
            "",
        ]
    if "wer" in results:
        w = results["wer"]
        lines += [
            "## ASR through Chat",
            "",
            f"WER {w['wer']:.3f} on {w['sentences']} questions",
            "",
        ]
    if "llm" in results:
        t = results["llm"]["tokens_per_s"]
        lines += [
            "## chat_llm as deployed",
            "",
            f"{t.get('p50')} tokens/s median over {t.get('n')} text-only replies "
            f"(max {t.get('max')})",
            "",
        ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["latency", "bargein", "vad", "wer", "llm"])
    parser.add_argument("--silence-ms", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    from voxgate.launcher import start

    wavs = [corpus.synthesize_flite(q, "slt") for q in QUESTIONS]
    results: dict = {
        "command": "python bench/chat.py " + " ".join(sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        server = start("--data-dir", tmp, log_path=Path(tmp) / "server.log")
        try:
            metrics_url = None
            for line in (Path(tmp) / "server.log").read_text().splitlines():
                if "triton_started" in line and "metrics=" in line:
                    metrics_url = line.split("metrics=")[1].split()[0].strip('",')
            if "latency" in args.parts:
                results["latency"] = asyncio.run(
                    latency(server.address, wavs, args.silence_ms, args.rounds)
                )
            if "bargein" in args.parts:
                results["bargein"] = asyncio.run(
                    barge_in(server.address, metrics_url, wavs[0], args.rounds)
                )
            if "vad" in args.parts:
                results["vad"] = asyncio.run(vad_accuracy(server.address, wavs))
            if "wer" in args.parts or "llm" in args.parts:
                results["wer"], results["llm"] = asyncio.run(wer_and_llm(server.address, wavs))
        finally:
            server.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chat.json").write_text(json.dumps(results, indent=1))
    (args.out / "chat.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
