"""The source files of a conversion, found and checked before anything is written.

Every problem becomes a `SourceError` naming the file and what was expected, so a user with the
wrong directory (or a wrong export) learns it in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from voxgate.step_audio.features import KALDI_MELS, LFR_M, parse_am_mvn

# Where Step-Audio-Tokenizer keeps FunASR's Paraformer (am.mvn, config.yaml, model.pt).
PARAFORMER_DIR = "dengcunqin/speech_paraformer-large_asr_nat-zh-cantonese-en-16k-vocab8501-online"
# Where Step-Audio-TTS-3B keeps CosyVoice's decoder (flow.pt, hift.pt, campplus.onnx).
COSYVOICE_DIR = "CosyVoice-300M-25Hz"
CODEBOOK_SHAPE = (1024, 512)
FLOW_INPUTS = (
    "token",
    "token_len",
    "prompt_token",
    "prompt_token_len",
    "prompt_feat",
    "prompt_feat_len",
    "embedding",
)
_INTS = {onnx.TensorProto.INT32, onnx.TensorProto.INT64}


class SourceError(ValueError):
    """A missing or malformed source file (the message names it)."""


@dataclass(frozen=True)
class TokenizerSources:
    speech_tokenizer: Path  # speech_tokenizer_v1.onnx (vq06)
    codebook: np.ndarray  # linguistic_tokenizer.npy, [1024, 512] float32 (vq02 centroids)
    encoder: Path  # paraformer_encoder.onnx (voxgate's export of the Paraformer encoder)
    cmvn: tuple[np.ndarray, np.ndarray]  # am.mvn: (shift, scale), 560 each


@dataclass(frozen=True)
class DecoderSources:
    flow: Path  # flow.onnx: MaskedDiffWithXvec.inference, 10 Euler steps, fixed noise
    hift: Path  # hift.onnx: HiFTGenerator.inference, mel [1, 80, M] -> audio [1, 256 M]
    campplus: Path  # campplus.onnx: fbank [1, T, 80] -> speaker embedding [1, D]
    embedding_dim: int


def _find(root: Path, name: str, subdirs: tuple[str, ...], what: str) -> Path:
    for folder in (root, *(root / s for s in subdirs)):
        if (folder / name).is_file():
            return folder / name
    where = " or ".join(str(root / s / name) for s in ("", *subdirs))
    raise SourceError(f"{where.replace('//', '/')}: missing ({what})")


def _io(path: Path) -> tuple[list, list]:
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf raises DecodeError, onnx its own
        raise SourceError(f"{path}: not an ONNX model ({type(err).__name__})") from None
    init = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in init]
    return inputs, list(model.graph.output)


def _dims(v) -> list:
    """Static sizes as ints, symbolic ones as None."""
    return [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]


def _elem(v) -> int:
    return v.type.tensor_type.elem_type


def _expect(path: Path, ok: bool, what: str) -> None:
    if not ok:
        raise SourceError(f"{path}: {what}")


def _float_3d(v, last: int | None = None, middle: int | None = None) -> bool:
    dims = _dims(v)
    if _elem(v) != onnx.TensorProto.FLOAT or len(dims) != 3:
        return False
    return (last is None or dims[2] in (None, last)) and (
        middle is None or dims[1] in (None, middle)
    )


def tokenizer_sources(root: Path) -> TokenizerSources:
    """Checks a Step-Audio-Tokenizer directory (plus voxgate's Paraformer encoder export)."""
    if not root.is_dir():
        raise SourceError(f"{root}: not a directory (the Step-Audio-Tokenizer folder)")
    vq06 = _find(root, "speech_tokenizer_v1.onnx", (), "Step-Audio's semantic tokenizer")
    inputs, outputs = _io(vq06)
    _expect(
        vq06,
        len(inputs) == 2 and _float_3d(inputs[0], middle=128) and _elem(inputs[1]) in _INTS,
        "expected inputs float32 [1, 128, T] (Whisper log-mel) and int32 [1] (frame count)",
    )
    _expect(vq06, len(outputs) >= 1 and _elem(outputs[0]) in _INTS, "expected integer token ids")

    npy = _find(root, "linguistic_tokenizer.npy", (), "the vq02 codebook")
    try:
        codebook = np.load(npy, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise SourceError(f"{npy}: not a .npy array ({err})") from None
    _expect(
        npy,
        codebook.shape == CODEBOOK_SHAPE and codebook.dtype.kind == "f",
        f"shape {codebook.shape} dtype {codebook.dtype}, expected float {CODEBOOK_SHAPE}",
    )
    _expect(npy, bool(np.isfinite(codebook).all()), "holds NaN or Inf")

    encoder = _find(root, "paraformer_encoder.onnx", (PARAFORMER_DIR,), "see docs/step-audio.md")
    inputs, outputs = _io(encoder)
    _expect(
        encoder,
        len(inputs) == 2
        and _float_3d(inputs[0], last=LFR_M * KALDI_MELS)
        and _elem(inputs[1]) in _INTS
        and len(_dims(inputs[1])) == 1,
        "expected inputs speech float32 [B, T, 560] and speech_lengths int32 [B]",
    )
    _expect(encoder, bool(outputs) and _float_3d(outputs[0], last=512), "expected enc [B, T, 512]")

    mvn = _find(root, "am.mvn", (PARAFORMER_DIR,), "the Paraformer's CMVN statistics")
    try:
        cmvn = parse_am_mvn(mvn.read_text(errors="replace"))
    except ValueError as err:
        raise SourceError(f"{mvn}: {err}") from None
    return TokenizerSources(vq06, codebook.astype(np.float32), encoder, cmvn)


def decoder_sources(root: Path) -> DecoderSources:
    """Checks the decoder files of a Step-Audio-TTS-3B directory (voxgate's flow/HiFT exports)."""
    if not root.is_dir():
        raise SourceError(f"{root}: not a directory (the Step-Audio-TTS-3B folder)")
    sub = (COSYVOICE_DIR,)
    flow = _find(root, "flow.onnx", sub, "the flow decoder export, see docs/step-audio.md")
    inputs, outputs = _io(flow)
    by_name = {i.name: i for i in inputs}
    _expect(
        flow,
        set(by_name) == set(FLOW_INPUTS),
        f"inputs {sorted(by_name)}, expected {list(FLOW_INPUTS)} (MaskedDiffWithXvec.inference)",
    )
    ints = ("token", "token_len", "prompt_token", "prompt_token_len", "prompt_feat_len")
    _expect(flow, all(_elem(by_name[n]) in _INTS for n in ints), f"{ints} must be integers")
    _expect(
        flow, _float_3d(by_name["prompt_feat"], last=80), "prompt_feat must be float [1, F, 80]"
    )
    emb = _dims(by_name["embedding"])
    _expect(flow, len(emb) == 2 and emb[1] is not None, "embedding must be float [1, D], D static")
    _expect(flow, bool(outputs) and _float_3d(outputs[0], middle=80), "expected mel [1, 80, M]")

    hift = _find(root, "hift.onnx", sub, "the HiFT vocoder export, see docs/step-audio.md")
    inputs, outputs = _io(hift)
    _expect(
        hift,
        len(inputs) == 1 and _float_3d(inputs[0], middle=80) and bool(outputs),
        "expected one input speech_feat float32 [1, 80, M] and the waveform as output 0",
    )
    _expect(hift, _elem(outputs[0]) == onnx.TensorProto.FLOAT, "output 0 must be float audio")

    campplus = _find(root, "campplus.onnx", sub, "CosyVoice's speaker embedding")
    inputs, outputs = _io(campplus)
    _expect(
        campplus,
        len(inputs) == 1 and _float_3d(inputs[0], last=80) and bool(outputs),
        "expected one input fbank float32 [1, T, 80] and an embedding output",
    )
    out = _dims(outputs[0])
    _expect(
        campplus,
        out[-1:] in ([None], [emb[1]]),
        f"embedding size {out[-1:]} differs from flow.onnx's {emb[1]}",
    )
    return DecoderSources(flow, hift, campplus, int(emb[1]))
