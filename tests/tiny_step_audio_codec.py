"""Tiny stand-ins for Step-Audio's tokenizer and decoder files, with the real tensor interfaces.

Random weights (seeded): they prove the conversion and serving plumbing, not speech.
- speech_tokenizer_v1.onnx: feats float32 [1, 128, T], feats_length int32 [1] -> indices int32
  [1, T // 4] in [0, 4096) (25 Hz from 100 Hz log-mel, as the real one).
- linguistic_tokenizer.npy: float32 [1024, 512].
- paraformer_encoder.onnx (+ am.mvn): speech float32 [B, T, 560], speech_lengths int32 [B] ->
  enc float32 [B, T, 512], enc_len int32 [B].
- flow.onnx: CosyVoice's MaskedDiffWithXvec.inference inputs -> mel [1, 80, M] with
  M = int(N / (125 / 3) * 22050 / 256) = floor(N * 2646 / 1280) (Step-Audio's 41.67 Hz ids).
- hift.onnx: speech_feat [1, 80, M] -> tts_speech [1, 256 M].
- campplus.onnx: input [1, T, 80] -> output [1, 192].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from voxgate.step_audio.onnx_util import FLOAT, INT32, INT64, Graph, value


def _save(g: Graph, path: Path, inputs: list, outputs: list) -> None:
    model = g.model(inputs, outputs, "voxgate test stand-in")
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path))


def speech_tokenizer(path: Path, rng: np.random.Generator) -> None:
    g = Graph("speech_tokenizer_v1")
    h = g.op("Conv", "feats", g.const(rng.standard_normal((16, 128, 4)) * 0.2), strides=[4])
    h = g.op("Transpose", g.op("Tanh", h), perm=[0, 2, 1])
    # Unit-norm class vectors, so that every id can win (not only the longest vectors).
    classes = rng.standard_normal((16, 4096))
    logits = g.op("MatMul", h, g.const(classes / np.linalg.norm(classes, axis=0)))
    ids = g.op("ArgMax", logits, axis=2, keepdims=0)
    g.op("Cast", ids, to=INT32, out="indices")
    g.op("Identity", "feats_length", out="unused_length")  # the real model reads it
    _save(
        g,
        path,
        [value("feats", FLOAT, [1, 128, "T"]), value("feats_length", INT32, [1])],
        [value("indices", INT32, [1, "N"]), value("unused_length", INT32, [1])],
    )


def paraformer_encoder(path: Path, rng: np.random.Generator) -> None:
    g = Graph("paraformer_encoder")
    h = g.op("MatMul", "speech", g.const(rng.standard_normal((560, 512)) * 0.05))
    g.op("Tanh", h, out="enc")
    g.op("Identity", "speech_lengths", out="enc_len")
    _save(
        g,
        path,
        [value("speech", FLOAT, ["B", "T", 560]), value("speech_lengths", INT32, ["B"])],
        [value("enc", FLOAT, ["B", "T", 512]), value("enc_len", INT32, ["B"])],
    )


def am_mvn(path: Path, rng: np.random.Generator) -> None:
    # Roughly the statistics of log fbank of speech scaled by 2^15 (values ~5..15).
    shift = " ".join(f"{v:.6f}" for v in -rng.uniform(9, 11, 560))
    scale = " ".join(f"{v:.6f}" for v in rng.uniform(0.3, 0.5, 560))
    path.write_text(
        "<Nnet>\n<Splice> 560 560\n[ 0 ]\n"
        f"<AddShift> 560 560\n<LearnRateCoef> 0 [ {shift} ]\n"
        f"<Rescale> 560 560\n<LearnRateCoef> 0 [ {scale} ]\n</Nnet>\n"
    )


def flow(path: Path, rng: np.random.Generator) -> None:
    g = Graph("flow")
    n = g.op("Cast", g.op("Reshape", "token_len", g.const([], np.int64)), to=INT64)
    m = g.op("Div", g.op("Mul", n, g.const(2646, np.int64)), g.const(1280, np.int64))
    # Frame j shows token floor(j N / M): a nearest-neighbour length regulator.
    frames = g.op("Range", g.const(0, np.int64), m, g.const(1, np.int64))
    index = g.op("Div", g.op("Mul", frames, n), m)
    emb = g.op("Gather", g.const(rng.standard_normal((5120, 80)) * 2.0), "token")  # [1, N, 80]
    h = g.op("Gather", emb, index, axis=1)  # [1, M, 80]
    spk = g.op("MatMul", "embedding", g.const(rng.standard_normal((192, 80)) * 0.1))
    prompt = g.op("ReduceSum", "prompt_feat", g.const([1], np.int64), keepdims=0)
    count = g.op("Cast", g.op("Max", "prompt_feat_len", g.const([1], np.int32)), to=FLOAT)
    cond = g.op("Add", spk, g.op("Mul", g.op("Div", prompt, count), g.const(0.01)))
    mel = g.op("Add", h, g.op("Unsqueeze", cond, g.const([1], np.int64)))
    g.op("Transpose", mel, perm=[0, 2, 1], out="mel")
    ints = [("token", INT64, [1, "N"]), ("token_len", INT32, [1])]
    ints += [("prompt_token", INT64, [1, "P"]), ("prompt_token_len", INT32, [1])]
    _save(
        g,
        path,
        [value(*i) for i in ints]
        + [
            value("prompt_feat", FLOAT, [1, "F", 80]),
            value("prompt_feat_len", INT32, [1]),
            value("embedding", FLOAT, [1, 192]),
        ],
        [value("mel", FLOAT, [1, 80, "M"])],
    )
    # prompt_token and prompt_token_len are inputs the graph does not read: keep them declared.


def hift(path: Path, rng: np.random.Generator) -> None:
    g = Graph("hift")
    w = rng.standard_normal((80, 1, 256)) * 0.05
    audio = g.op("ConvTranspose", "speech_feat", g.const(w), strides=[256])
    g.op("Reshape", g.op("Tanh", audio), g.const([1, -1], np.int64), out="tts_speech")
    _save(
        g, path, [value("speech_feat", FLOAT, [1, 80, "M"])], [value("tts_speech", FLOAT, [1, "S"])]
    )


def campplus(path: Path, rng: np.random.Generator) -> None:
    g = Graph("campplus")
    mean = g.op("ReduceMean", "input", axes=[1], keepdims=0)
    g.op("MatMul", mean, g.const(rng.standard_normal((80, 192))), out="output")
    _save(g, path, [value("input", FLOAT, [1, "T", 80])], [value("output", FLOAT, [1, 192])])


def build_tokenizer_dir(root: Path, seed: int = 0) -> Path:
    """A Step-Audio-Tokenizer-like folder (plus voxgate's Paraformer encoder export)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    speech_tokenizer(root / "speech_tokenizer_v1.onnx", rng)
    # Centroids of equal norm: the nearest one then depends on the direction of the encoding.
    codebook = rng.standard_normal((1024, 512))
    codebook *= 4.0 / np.linalg.norm(codebook, axis=1, keepdims=True)
    np.save(root / "linguistic_tokenizer.npy", codebook.astype(np.float32))
    paraformer_encoder(root / "paraformer_encoder.onnx", rng)
    am_mvn(root / "am.mvn", rng)
    return root


def build_tts_dir(root: Path, seed: int = 1) -> Path:
    """A Step-Audio-TTS-3B-like folder holding the decoder exports under CosyVoice-300M-25Hz/."""
    rng = np.random.default_rng(seed)
    folder = root / "CosyVoice-300M-25Hz"
    folder.mkdir(parents=True, exist_ok=True)
    flow(folder / "flow.onnx", rng)
    hift(folder / "hift.onnx", rng)
    campplus(folder / "campplus.onnx", rng)
    return root
