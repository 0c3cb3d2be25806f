"""Real-data inputs: speech clips spoken by flite, and perf_analyzer's `--input-data` JSON.

Clips are held-out corpus sentences (`voxgate.reference.corpus`, split "test") in several flite
voices, joined and cut to an exact length; the token and feature inputs of the decoder models
are what the reference tokenizers and token_decoder make of those clips (onnxruntime,
in-process), so every model sees what it sees in service.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
from voxgate.interleave import interleave
from voxgate.reference import corpus

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
VOICES = ("slt", "awb", "rms", "kal16")


def speech_clip(seconds: float, seed: int = 0) -> np.ndarray:
    """`seconds` of flite speech at 16 kHz, float32 (falls back to tests.conftest's synthetic
    speech-like signal when flite is missing)."""
    n = round(seconds * RATE)
    if shutil.which("flite") is None or shutil.which("sox") is None:
        from tests.conftest import speechlike

        return speechlike(seconds, seed=seed)
    parts, have = [], 0
    for i, text in enumerate(corpus.sentences(seed, 50, split="test")):
        wav = corpus.synthesize_flite(text, VOICES[(seed + i) % len(VOICES)])
        parts.append(wav)
        have += len(wav)
        if have >= n:
            break
    wav = np.concatenate(parts)
    reps = -(-n // len(wav))
    return np.ascontiguousarray(np.tile(wav, reps)[:n], dtype=np.float32)


def session(
    model: str, threads: int = 1, file: str = "model.onnx", arena: bool = True
) -> ort.InferenceSession:
    """A CPU onnxruntime session of a committed model's ONNX file (`file` in its version 1)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = arena
    path = ROOT / "triton_models" / model / "1" / file
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def tokens_of(wav: np.ndarray) -> np.ndarray:
    """Interleaved Step-Audio ids of a clip, made by the reference tokenizers."""
    x = wav[None, :]
    (ling,) = session("linguistic_tokenizer").run(None, {"waveform": x})
    (sem,) = session("semantic_tokenizer").run(None, {"waveform": x})
    return np.asarray(interleave(ling[0], sem[0]), dtype=np.int64)


def features_of(ids: np.ndarray) -> np.ndarray:
    (feats,) = session("token_decoder").run(None, {"audio_tokens": ids[None, :]})
    return feats[0].astype(np.float32)


def _tensor(array: np.ndarray) -> dict:
    """One tensor in perf_analyzer's JSON: base64 of the raw bytes, shape without batch."""
    array = np.ascontiguousarray(array)
    return {"b64": base64.b64encode(array.tobytes()).decode(), "shape": list(array.shape)}


def write_inputs(folder: Path, clip_s: float, clips: int = 3) -> dict[str, Path]:
    """perf_analyzer input files, one per model, each with `clips` different recordings."""
    folder.mkdir(parents=True, exist_ok=True)
    wavs = [speech_clip(clip_s, seed=i) for i in range(clips)]
    ids = [tokens_of(w) for w in wavs]
    feats = [features_of(i) for i in ids]
    texts = [" ".join(corpus.sentences(100 + i, 2, split="test")) for i in range(clips)]
    data = {
        "waveform": [{"waveform": _tensor(w)} for w in wavs],
        "audio_tokens": [{"audio_tokens": _tensor(i)} for i in ids],
        "acoustic_features": [{"acoustic_features": _tensor(f)} for f in feats],
        # STRING tensors: perf_analyzer takes `content` lists (max_batch_size 0: full shape).
        "text": [{"text": {"content": [t], "shape": [1]}} for t in texts],
        "messages": [
            {
                "messages": {
                    "content": [json.dumps([{"role": "user", "content": t}])],
                    "shape": [1],
                },
                "max_tokens": {"content": [16], "shape": [1]},
            }
            for t in texts
        ],
    }
    paths = {}
    for key, rows in data.items():
        paths[key] = folder / f"{key}-{clip_s:g}s.json"
        paths[key].write_text(json.dumps({"data": rows}))
    return paths
