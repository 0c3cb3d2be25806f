"""One ONNX file per Triton model: Step-Audio's graphs wrapped to the model contract's tensors.

Each wrapper inlines the source graph (names prefixed) between voxgate's own nodes, so the CPU
configs (voxgate_onnx) and the GPU configs (Triton's onnxruntime backend) serve the same file:

- semantic_tokenizer: waveform [B, S] -> Whisper log-mel -> speech_tokenizer_v1 -> INT64 ids,
  exactly floor(S / 640) of them (the model's own count is within +-2 of 25 Hz; the last id is
  repeated or the surplus dropped).
- linguistic_tokenizer: waveform -> fbank, LFR, CMVN -> Paraformer encoder -> nearest of the
  1024 centroids (argmin of |c|^2 - 2 x.c, the Euclidean rule) -> floor(S / 960) INT64 ids.
- token_decoder: interleaved ids [1, 5G] + the baked default speaker -> flow -> mel padded
  (last frame repeated) or cut to ceil(G * 2646 / 256) frames, as [1, M, 80].
- vocoder: [1, M, 80] -> HiFT -> the first G * 2646 samples (22050 Hz, 120 ms per group),
  G = floor(256 M / 2646).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import version_converter

from voxgate.step_audio import features
from voxgate.step_audio.onnx_util import FLOAT, INT64, OPSET, Graph, value
from voxgate.step_audio.sources import SourceError

OUTPUT_RATE = 22050
HOP = 256  # CosyVoice's mel hop at 22050 Hz
GROUP_OUT = 2646  # 120 ms at 22050 Hz
TOKENS_PER_GROUP = 5
SEMANTIC_HOP, LINGUISTIC_HOP = 640, 960


@dataclass(frozen=True)
class Speaker:
    """The default speaker baked into token_decoder: CosyVoice's prompt inputs."""

    embedding: np.ndarray  # [1, D] x-vector (campplus)
    prompt_tokens: np.ndarray  # [1, P] interleaved ids, whole groups
    prompt_feat: np.ndarray  # [1, F, 80] CosyVoice mel of the prompt


def _opset(model: onnx.ModelProto) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=1)


def _graph_for(name: str, *sources: onnx.ModelProto) -> Graph:
    """A graph at the newest opset among the sources (at least 17), each source raised to it."""
    g = Graph(name, max([OPSET, *(_opset(m) for m in sources)]))
    g.ir_version = max([g.ir_version, *(m.ir_version for m in sources)])
    return g


def inline(g: Graph, model: onnx.ModelProto, feeds: dict[str, str], prefix: str) -> list[str]:
    """Adds `model`'s graph to `g` with its names prefixed; `feeds` maps its inputs (by index
    order of its graph inputs: name -> tensor in g). Returns its outputs' names in g."""
    if _opset(model) < g.opset:
        try:
            model = version_converter.convert_version(model, g.opset)
        except Exception as err:  # the converter raises several types
            raise SourceError(
                f"{model.graph.name or prefix}: cannot raise opset {_opset(model)} to {g.opset} "
                f"({err}); export it with opset {g.opset}"
            ) from None
    model = onnx.compose.add_prefix(model, prefix + "/")
    init = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name not in init:
            g.op("Identity", feeds[inp.name[len(prefix) + 1 :]], out=inp.name)
    g.nodes.extend(model.graph.node)
    g.initializers.extend(model.graph.initializer)
    g.functions.extend(model.functions)
    for opset in model.opset_import:
        if opset.domain not in ("", "ai.onnx") and opset.domain:
            g.extra_opsets[opset.domain] = opset.version
    return [o.name for o in model.graph.output]


def _inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    init = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in init]


def _dim(g: Graph, x: str, axis: int) -> str:
    """Size of axis `axis` of x as an INT64 scalar."""
    return g.op("Gather", g.op("Shape", x), g.const(axis, np.int64), axis=0)


def _as(g: Graph, x: str, elem_type: int) -> str:
    return g.op("Cast", x, to=elem_type)


def _fit(g: Graph, x: str, n: str, axis: int, rank: int) -> str:
    """x cut or edge-padded along `axis` to `n` (INT64 scalar) entries."""
    have = _dim(g, x, axis)
    missing = g.op("Max", g.op("Sub", n, have), g.const(0, np.int64))
    zeros = [g.const([0], np.int64)] * rank
    ends = list(zeros)
    ends[axis] = g.op("Unsqueeze", missing, g.const([0], np.int64))
    pads = g.op("Concat", *zeros, *ends, axis=0)
    padded = g.op("Pad", x, pads, mode="edge")
    one = g.op("Unsqueeze", n, g.const([0], np.int64))
    return g.op("Slice", padded, g.const([0], np.int64), one, g.const([axis], np.int64))


def _samples(g: Graph, waveform: str, hop: int) -> str:
    return g.op("Div", _dim(g, waveform, 1), g.const(hop, np.int64))


def semantic_tokenizer(speech_tokenizer: onnx.ModelProto) -> onnx.ModelProto:
    g = _graph_for("semantic_tokenizer", speech_tokenizer)
    mel = features.whisper_log_mel(g, "waveform")
    ins = _inputs(speech_tokenizer)
    frames = g.op("Unsqueeze", _dim(g, mel, 2), g.const([0], np.int64))
    feeds = {ins[0].name: mel, ins[1].name: _as(g, frames, ins[1].type.tensor_type.elem_type)}
    ids = inline(g, speech_tokenizer, feeds, "speech_tokenizer_v1")[0]
    ids = g.op("Reshape", _as(g, ids, INT64), g.const([1, -1], np.int64))  # batch 1, as Step-Audio
    out = _fit(g, ids, _samples(g, "waveform", SEMANTIC_HOP), 1, 2)
    g.op("Identity", out, out="semantic_tokens")
    return g.model(
        [value("waveform", FLOAT, ["B", "S"])],
        [value("semantic_tokens", INT64, ["B", "N"])],
        "voxgate step-audio: Whisper log-mel + speech_tokenizer_v1 (vq06)",
    )


def linguistic_tokenizer(
    encoder: onnx.ModelProto, cmvn: tuple[np.ndarray, np.ndarray], codebook: np.ndarray
) -> onnx.ModelProto:
    g = _graph_for("linguistic_tokenizer", encoder)
    fbank = features.kaldi_fbank(g, "waveform", features.PARAFORMER_SCALE)
    speech = features.lfr_cmvn(g, fbank, *cmvn)
    ins = _inputs(encoder)
    batch = g.op("Unsqueeze", _dim(g, speech, 0), g.const([0], np.int64))
    lengths = g.op("Expand", _dim(g, speech, 1), batch)
    feeds = {ins[0].name: speech, ins[1].name: _as(g, lengths, ins[1].type.tensor_type.elem_type)}
    enc = inline(g, encoder, feeds, "paraformer_encoder")[0]
    c = np.asarray(codebook, np.float64)
    # argmin_k |x - c_k|^2 = argmin_k (|c_k|^2 - 2 x.c_k): |x|^2 is the same for every k.
    scores = g.op(
        "Add",
        g.op("MatMul", enc, g.const((-2.0 * c.T).astype(np.float32))),
        g.const((c * c).sum(axis=1).astype(np.float32)),
    )
    ids = g.op("ArgMin", scores, axis=2, keepdims=0)
    out = _fit(g, ids, _samples(g, "waveform", LINGUISTIC_HOP), 1, 2)
    g.op("Identity", out, out="linguistic_tokens")
    return g.model(
        [value("waveform", FLOAT, ["B", "S"])],
        [value("linguistic_tokens", INT64, ["B", "N"])],
        "voxgate step-audio: Paraformer front end + encoder + nearest centroid (vq02)",
    )


def token_decoder(flow: onnx.ModelProto, speaker: Speaker) -> onnx.ModelProto:
    g = _graph_for("token_decoder", flow)
    ins = {i.name: i.type.tensor_type.elem_type for i in _inputs(flow)}
    n = _dim(g, "audio_tokens", 1)
    feeds = {
        "token": _as(g, "audio_tokens", ins["token"]),
        "token_len": _as(g, g.op("Unsqueeze", n, g.const([0], np.int64)), ins["token_len"]),
        # The default speaker, fixed at conversion (CosyVoice's prompt inputs).
        "prompt_token": _as(g, g.const(speaker.prompt_tokens, np.int64), ins["prompt_token"]),
        "prompt_token_len": g.const([speaker.prompt_tokens.shape[1]], _np(ins["prompt_token_len"])),
        "prompt_feat": g.const(speaker.prompt_feat, np.float32),
        "prompt_feat_len": g.const([speaker.prompt_feat.shape[1]], _np(ins["prompt_feat_len"])),
        "embedding": g.const(speaker.embedding, np.float32),
    }
    mel = inline(g, flow, feeds, "flow")[0]  # [1, 80, M_flow]
    # ceil(G * 2646 / 256) frames, G = N / 5: enough for G whole groups at 22050 Hz.
    per = TOKENS_PER_GROUP * HOP
    frames = g.op(
        "Div",
        g.op("Add", g.op("Mul", n, g.const(GROUP_OUT, np.int64)), g.const(per - 1, np.int64)),
        g.const(per, np.int64),
    )
    mel = _fit(g, mel, frames, 2, 3)
    g.op("Transpose", mel, perm=[0, 2, 1], out="acoustic_features")
    return g.model(
        [value("audio_tokens", INT64, ["B", "N"])],
        [value("acoustic_features", FLOAT, ["B", "M", 80])],
        "voxgate step-audio: CosyVoice flow (default speaker baked in)",
    )


def vocoder(hift: onnx.ModelProto) -> onnx.ModelProto:
    g = _graph_for("vocoder", hift)
    mel = g.op("Transpose", "acoustic_features", perm=[0, 2, 1])
    audio = inline(g, hift, {_inputs(hift)[0].name: mel}, "hift")[0]
    audio = g.op("Reshape", audio, g.const([1, -1], np.int64))
    m = _dim(g, "acoustic_features", 1)
    groups = g.op("Div", g.op("Mul", m, g.const(HOP, np.int64)), g.const(GROUP_OUT, np.int64))
    n = g.op("Mul", groups, g.const(GROUP_OUT, np.int64))
    g.op("Identity", _fit(g, audio, n, 1, 2), out="waveform")
    return g.model(
        [value("acoustic_features", FLOAT, ["B", "M", 80])],
        [value("waveform", FLOAT, ["B", "S"])],
        "voxgate step-audio: HiFT vocoder, 22050 Hz",
    )


def _np(elem_type: int):
    return onnx.helper.tensor_dtype_to_np_dtype(elem_type)
