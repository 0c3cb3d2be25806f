"""Build the ONNX graphs (opset 17, IR 9) with the same maths as encoder.py / decoder.py /
speaker.py: the four fitted models and the parameter-free speaker adapter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from voxgate.interleave import (
    LINGUISTIC_CODES,
    LINGUISTIC_PER_GROUP,
    SEMANTIC_CODES,
    SEMANTIC_OFFSET,
    TOKENS_PER_GROUP,
)
from voxgate.model_names import (
    JOINT_TOKENIZER,
    LINGUISTIC_TOKENIZER,
    SEMANTIC_TOKENIZER,
    SPEAKER_ADAPTER,
    STREAM_TOKENIZER,
    TOKEN_DECODER,
    VOCODER,
)

from . import decoder, dsp, refiner, speaker
from .encoder import NC, SQRT_MEL, EncoderParams

OPSET = 17
IR_VERSION = 9
BIG = np.iinfo(np.int64).max
FRAME_OFFSET = dsp.NFFT - 352  # sub-frame j's frame starts at padded sample j * SUB + this


class _G:
    """Tiny graph builder: ``g.op("Add", a, b)`` returns the output name."""

    def __init__(self, name: str):
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def _fresh(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, value, dtype=None, name: str | None = None) -> str:
        arr = np.asarray(value, dtype=dtype)
        nm = name or self._fresh("c")
        self.inits.append(numpy_helper.from_array(arr, nm))
        return nm

    def i64(self, *vals: int) -> str:
        return self.const(np.array(vals, np.int64))

    def f32(self, v: float) -> str:
        return self.const(np.array(v, np.float32))

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs) -> str:
        o = out or self._fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [o], **attrs))
        return o

    def slice(self, x: str, start: int, end: int, axis: int, step: int = 1) -> str:
        return self.op("Slice", x, self.i64(start), self.i64(end), self.i64(axis), self.i64(step))

    def model(self, inputs, outputs) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, inputs, outputs, self.inits)
        m = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="voxgate.reference"
        )
        m.ir_version = IR_VERSION
        onnx.checker.check_model(m)
        return m


def _io(name: str, dtype, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


# ---------------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------------


def _power(g: _G, frames: str, window: np.ndarray) -> str:
    x = g.op("Mul", frames, g.const(window))
    x = g.op("Unsqueeze", x, g.i64(3))
    spec = g.op("DFT", x, axis=2, onesided=1)
    return g.op("ReduceSum", g.op("Mul", spec, spec), g.i64(3), keepdims=0)


def _analyse(g: _G, wav: str, n_sub: str, prm: EncoderParams) -> dict[str, str]:
    """Graph of encoder.analyse over frames j' = 0..n_sub-1 of the padded waveform."""
    padded = g.op("Pad", wav, g.i64(0, prm.pad, 0, prm.pad), g.const(np.float32(0)))
    starts = g.op("Mul", g.op("Range", g.i64(0), n_sub, g.i64(1)), g.i64(dsp.SUB))
    idx = g.op(
        "Add",
        g.op("Unsqueeze", starts, g.i64(1)),
        g.const((FRAME_OFFSET + np.arange(dsp.NFFT))[None, :].astype(np.int64)),
    )
    return _analyse_frames(g, g.op("Gather", padded, idx, axis=1))


def _analyse_frames(g: _G, frames: str) -> dict[str, str]:
    """encoder.analyse of [B, J, NFFT] frames: each sub-frame's features from its frame alone."""
    wp, ws = dsp.analysis_windows()
    pp = _power(g, frames, wp)
    r = g.op("MatMul", pp, g.const(dsp.autocorr_matrix()))
    r0 = g.op("Add", g.slice(r, 0, 1, 2), g.f32(1e-9))
    rn = g.op("Mul", g.op("Div", g.slice(r, 1, BIG, 2), r0), g.const(dsp.window_autocorr_norm()))
    best = g.op("ArgMax", g.op("Sub", rn, g.const(dsp.octave_penalty())), axis=2, keepdims=1)
    h = g.op("Squeeze", g.op("GatherElements", rn, best, axis=2), g.i64(2))
    lag = g.op(
        "Add",
        g.op("Cast", g.op("Squeeze", best, g.i64(2)), to=TensorProto.FLOAT),
        g.f32(dsp.LAG_MIN),
    )
    p = _power(g, frames, ws)
    logpow = g.op("Log", g.op("Add", g.op("ReduceMean", p, axes=[2], keepdims=0), g.f32(1e-10)))
    voiced = g.op(
        "And",
        g.op("Greater", h, g.f32(dsp.VOICING_THRESHOLD)),
        g.op("Greater", logpow, g.f32(dsp.SILENCE_LOGPOW)),
    )
    f0 = g.op("Div", g.f32(dsp.SR), lag)
    width = g.op("Where", voiced, f0, g.f32(dsp.UNVOICED_WIDTH_HZ))
    hb = g.op("Unsqueeze", g.op("Mul", width, g.f32(0.5 * dsp.NFFT / dsp.SR)), g.i64(2))
    # Pitch-adaptive smoothing: float64 cumulative sum, linear interpolation at window edges.
    c = g.op("CumSum", g.op("Cast", p, to=TensorProto.DOUBLE), g.i64(2))
    c = g.op("Pad", c, g.i64(0, 0, 1, 0, 0, 0), g.const(np.float64(0)))
    k = g.const((np.arange(dsp.NBIN) + 0.5).astype(np.float32))
    zero, top = g.f32(0.0), g.f32(dsp.NBIN)
    lo = g.op("Clip", g.op("Sub", k, hb), zero, top)
    hi = g.op("Clip", g.op("Add", k, hb), zero, top)

    def at(x: str) -> str:
        fl = g.op("Min", g.op("Floor", x), g.f32(dsp.NBIN - 1))
        i = g.op("Cast", fl, to=TensorProto.INT64)
        f = g.op("Cast", g.op("Sub", x, fl), to=TensorProto.DOUBLE)
        c0 = g.op("GatherElements", c, i, axis=2)
        c1 = g.op("GatherElements", c, g.op("Add", i, g.i64(1)), axis=2)
        return g.op("Add", c0, g.op("Mul", f, g.op("Sub", c1, c0)))

    avg = g.op(
        "Div", g.op("Sub", at(hi), at(lo)), g.op("Cast", g.op("Sub", hi, lo), to=TensorProto.DOUBLE)
    )
    psm = g.op("Cast", avg, to=TensorProto.FLOAT)
    mel = g.op("MatMul", psm, g.const(dsp.mel_filterbank()))
    logmel = g.op("Log", g.op("Add", mel, g.f32(dsp.MEL_FLOOR)))
    cep = g.op("MatMul", logmel, g.const(dsp.dct_matrix()))
    ap = g.op("Sub", g.f32(1.0), g.op("Clip", h, g.f32(0.0), g.f32(1.0)))
    return {"cep": cep, "ap": ap, "voiced": voiced, "f0": f0}


def _semantic_codes(g: _G, an: dict[str, str], n_sem: str, prm: EncoderParams) -> str:
    w_ = prm.norm_half_window
    cep = an["cep"]
    c0 = g.op("Squeeze", g.slice(cep, 0, 1, 2), g.i64(2))
    wt = g.op(
        "Clip",
        g.op(
            "Mul",
            g.op("Sub", g.op("Div", c0, g.f32(SQRT_MEL)), g.f32(dsp.SILENCE_LOGPOW)),
            g.f32(0.25),
        ),
        g.f32(0.0),
        g.f32(1.0),
    )
    shape = g.slice(cep, 1, BIG, 2)
    wshape = g.op("Mul", shape, g.op("Unsqueeze", wt, g.i64(2)))

    def win_sum(x: str, pads: str) -> str:
        cs = g.op("CumSum", g.op("Cast", x, to=TensorProto.DOUBLE), g.i64(1))
        cs = g.op("Pad", cs, pads, g.const(np.float64(0)))
        return g.op("Sub", g.slice(cs, 2 * w_ + 1, BIG, 1), g.slice(cs, 0, -(2 * w_ + 1), 1))

    sw = win_sum(wt, g.i64(0, 1, 0, 0))
    sc = win_sum(wshape, g.i64(0, 1, 0, 0, 0, 0))
    lam = float(prm.prior_weight)
    mu = "mu" if any(i.name == "mu" for i in g.inits) else g.const(prm.mu, np.float32, "mu")
    prior = g.op("Mul", g.op("Cast", mu, to=TensorProto.DOUBLE), g.const(np.float64(lam)))
    mean = g.op(
        "Div",
        g.op("Add", sc, prior),
        g.op("Add", g.op("Unsqueeze", sw, g.i64(2)), g.const(np.float64(lam))),
    )
    core_shape = g.slice(shape, w_, -w_, 1)
    shp = g.op("Sub", core_shape, g.op("Cast", mean, to=TensorProto.FLOAT))  # [B, 2n, NC]
    n_sem_1 = n_sem
    shp = g.op("Reshape", shp, g.op("Concat", g.i64(0), n_sem_1, g.i64(2 * NC), axis=0))
    c0n = g.op("Div", g.slice(c0, w_, -w_, 1), g.f32(SQRT_MEL))
    ap = g.slice(an["ap"], w_, -w_, 1)
    pair = g.op("Concat", g.i64(0), n_sem_1, g.i64(2), axis=0)
    x = g.op("Concat", shp, g.op("Reshape", c0n, pair), g.op("Reshape", ap, pair), axis=2)
    xw = g.op("Mul", x, g.const(prm.weights.astype(np.float32), name="vq_weights"))
    cb = prm.codebook.astype(np.float32)
    d = g.op(
        "Sub",
        g.const((cb * cb).sum(-1)),
        g.op(
            "Mul",
            g.f32(2.0),
            g.op("MatMul", xw, g.const(np.ascontiguousarray(cb.T), name="codebook_t")),
        ),
    )
    return g.op("ArgMin", d, axis=2, keepdims=0)


def _n_tokens(g: _G, wav: str, hop: int) -> str:
    s = g.op("Slice", g.op("Shape", wav), g.i64(1), g.i64(2))  # [1]
    return g.op("Div", s, g.i64(hop))


def semantic_model(prm: EncoderParams) -> onnx.ModelProto:
    g = _G(SEMANTIC_TOKENIZER)
    n = _n_tokens(g, "waveform", dsp.SEM_HOP)
    an = _analyse_for(g, n, prm)
    codes = _semantic_codes(g, an, n, prm)
    g.op("Identity", codes, out="semantic_tokens")
    return g.model(
        [_io("waveform", TensorProto.FLOAT, ["B", "S"])],
        [_io("semantic_tokens", TensorProto.INT64, ["B", "N"])],
    )


def _linguistic_ids(g: _G, an: dict[str, str], codes: str, n_l: str, prm: EncoderParams) -> str:
    """encoder.linguistic_from: F0 level * 32 + the gain correction against the codes' gain."""
    w_ = prm.norm_half_window
    table = g.const(prm.dec_table[:, [0, dsp.N_CEP]].astype(np.float32), name="gain_table")
    c0_dec = g.op("Reshape", g.op("Gather", table, codes), g.i64(0, -1))
    three = g.op("Mul", n_l, g.i64(3))
    c0_dec = g.op("Slice", c0_dec, g.i64(0), three, g.i64(1))
    c0 = g.op("Squeeze", g.slice(an["cep"], 0, 1, 2), g.i64(2))
    c0 = g.op("Slice", c0, g.i64(w_), g.op("Add", three, g.i64(w_)), g.i64(1))
    diff = g.op("Div", g.op("Sub", c0, c0_dec), g.f32(SQRT_MEL))
    diff = g.op("Reshape", diff, g.op("Concat", g.i64(0), n_l, g.i64(3), axis=0))
    corr = g.op("ReduceMean", diff, axes=[2], keepdims=0)
    gq = g.op("Add", g.op("Round", g.op("Div", corr, g.f32(dsp.GAIN_STEP))), g.f32(dsp.N_GAIN // 2))
    gq = g.op("Clip", gq, g.f32(0.0), g.f32(dsp.N_GAIN - 1))
    end = g.op("Add", three, g.i64(w_))

    def mid(x: str) -> str:
        return g.op("Slice", x, g.i64(w_ + 1), end, g.i64(1), g.i64(3))

    scale = np.float32((dsp.N_F0 - 1) / np.log(dsp.F0_MAX / dsp.F0_MIN))
    lf = g.op("Log", g.op("Div", mid(an["f0"]), g.f32(dsp.F0_MIN)))
    fq = g.op(
        "Clip", g.op("Round", g.op("Mul", lf, g.const(scale))), g.f32(0.0), g.f32(dsp.N_F0 - 1)
    )
    fq = g.op("Where", mid(an["voiced"]), fq, g.f32(dsp.N_F0))
    return g.op(
        "Add",
        g.op("Mul", g.op("Cast", fq, to=TensorProto.INT64), g.i64(dsp.N_GAIN)),
        g.op("Cast", gq, to=TensorProto.INT64),
    )


def _ling_semantic_count(g: _G, n_l: str) -> str:
    """Semantic codes the linguistic ids of n_l tokens read: (3 n_l + 1) // 2."""
    return g.op("Div", g.op("Add", g.op("Mul", n_l, g.i64(3)), g.i64(1)), g.i64(2))


def _analyse_for(g: _G, n_sem: str, prm: EncoderParams) -> dict[str, str]:
    n_sub = g.op("Add", g.op("Mul", n_sem, g.i64(2)), g.i64(2 * prm.norm_half_window))
    return _analyse(g, "waveform", g.op("Squeeze", n_sub, g.i64(0)), prm)


def linguistic_model(prm: EncoderParams) -> onnx.ModelProto:
    g = _G(LINGUISTIC_TOKENIZER)
    n_l = _n_tokens(g, "waveform", dsp.LING_HOP)
    n_sem = _ling_semantic_count(g, n_l)
    an = _analyse_for(g, n_sem, prm)
    codes = _semantic_codes(g, an, n_sem, prm)
    g.op("Identity", _linguistic_ids(g, an, codes, n_l, prm), out="linguistic_tokens")
    return g.model(
        [_io("waveform", TensorProto.FLOAT, ["B", "S"])],
        [_io("linguistic_tokens", TensorProto.INT64, ["B", "N"])],
    )


def joint_tokenizer_model(prm: EncoderParams) -> onnx.ModelProto:
    """Both token streams from one analysis: the same ids as the two tokenizers, half the work.

    Each sub-frame's analysis and each semantic code depend only on the padded waveform around
    them, not on how many follow, so one pass over the longer of the two spans serves both.
    """
    g = _G(JOINT_TOKENIZER)
    n_s = _n_tokens(g, "waveform", dsp.SEM_HOP)
    n_l = _n_tokens(g, "waveform", dsp.LING_HOP)
    n_sem = g.op("Max", n_s, _ling_semantic_count(g, n_l))
    an = _analyse_for(g, n_sem, prm)
    codes = _semantic_codes(g, an, n_sem, prm)
    g.op("Slice", codes, g.i64(0), n_s, g.i64(1), out="semantic_tokens")
    g.op("Identity", _linguistic_ids(g, an, codes, n_l, prm), out="linguistic_tokens")
    return g.model(
        [_io("waveform", TensorProto.FLOAT, ["B", "S"])],
        [
            _io("linguistic_tokens", TensorProto.INT64, ["B", "NL"]),
            _io("semantic_tokens", TensorProto.INT64, ["B", "NS"]),
        ],
    )


# The stream tokenizer's two stages: per sub-frame analysis of new frames, then the ids of whole
# groups from the analysis of their sub-frames and W on each side (Triton keeps the state).
STREAM_FEATURES = (
    ("cep", TensorProto.FLOAT, ["B", "J", dsp.N_CEP]),
    ("ap", TensorProto.FLOAT, ["B", "J"]),
    ("voiced", TensorProto.BOOL, ["B", "J"]),
    ("f0", TensorProto.FLOAT, ["B", "J"]),
)


def stream_frontend_model(prm: EncoderParams) -> onnx.ModelProto:
    """[B, J, NFFT] frames -> the analysis of each (what the tokenizers compute per sub-frame)."""
    g = _G("stream_frontend")
    an = _analyse_frames(g, "frames")
    for name, _, _ in STREAM_FEATURES:
        g.op("Identity", an[name], out=name)
    model = g.model(
        [_io("frames", TensorProto.FLOAT, ["B", "J", dsp.NFFT])],
        [_io(*f) for f in STREAM_FEATURES],
    )
    return _meta(model, **stream_layout(prm))


def stream_head_model(prm: EncoderParams) -> onnx.ModelProto:
    """The analysis of 6G + 2W sub-frames -> the ids of the G groups in their middle."""
    g = _G("stream_head")
    core = g.op(
        "Sub",
        g.op("Slice", g.op("Shape", "ap"), g.i64(1), g.i64(2)),
        g.i64(2 * prm.norm_half_window),
    )
    n_sem = g.op("Div", core, g.i64(2))
    an = {name: name for name, _, _ in STREAM_FEATURES}
    codes = _semantic_codes(g, an, n_sem, prm)
    g.op("Identity", codes, out="semantic_tokens")
    g.op(
        "Identity",
        _linguistic_ids(g, an, codes, g.op("Div", core, g.i64(3)), prm),
        out="linguistic_tokens",
    )
    model = g.model(
        [_io(*f) for f in STREAM_FEATURES],
        [
            _io("linguistic_tokens", TensorProto.INT64, ["B", "NL"]),
            _io("semantic_tokens", TensorProto.INT64, ["B", "NS"]),
        ],
    )
    return _meta(model, **stream_layout(prm))


def stream_layout(prm: EncoderParams) -> dict[str, int]:
    """What the stream tokenizer needs to cut frames and groups (ONNX metadata of both stages)."""
    return {
        "pad": prm.pad,  # zeros before the first sample and after the last
        "hop": dsp.SUB,
        "frame_offset": FRAME_OFFSET,
        "frame_length": dsp.NFFT,
        "subframes_per_group": dsp.SUB_PER_GROUP,
        "norm_half_window": prm.norm_half_window,
        "group_samples": dsp.GROUP,
    }


def stream_graphs(prm: EncoderParams) -> dict[str, onnx.ModelProto]:
    """The stream tokenizer's files in its version folder."""
    return {"frontend.onnx": stream_frontend_model(prm), "head.onnx": stream_head_model(prm)}


# ---------------------------------------------------------------------------------------------
# Decoder
# ---------------------------------------------------------------------------------------------


def _edge(g: _G, x: str, axis: int, n: int = 1) -> str:
    first = g.slice(x, 0, 1, axis)
    last = g.slice(x, -1, BIG, axis)
    if n > 1:
        reps = [1, 1, 1]
        reps[axis] = n
        first = g.op("Tile", first, g.i64(*reps))
        last = g.op("Tile", last, g.i64(*reps))
    return g.op("Concat", first, x, last, axis=axis)


def _f0_levels(g: _G, ling: str) -> tuple[str, str]:
    """Linguistic ids -> (voiced flag, log F0 of the level) as float32, as decoder.token_decoder."""
    fq = g.op("Div", ling, g.i64(dsp.N_GAIN))
    voiced = g.op("Cast", g.op("Less", fq, g.i64(dsp.N_F0)), to=TensorProto.FLOAT)
    step = np.float32(np.log(dsp.F0_MAX / dsp.F0_MIN) / (dsp.N_F0 - 1))
    lf = g.op(
        "Add",
        g.f32(np.log(dsp.F0_MIN)),
        g.op(
            "Mul",
            g.op("Cast", g.op("Min", fq, g.i64(dsp.N_F0 - 1)), to=TensorProto.FLOAT),
            g.const(step),
        ),
    )
    return voiced, lf


def _refined_rows(g: _G, ling: str, row: str, prm: decoder.DecoderParams) -> str:
    """refiner.token_inputs (+ refiner.refine when fitted) on [B, 2G] ids and [B, 3G, 50] rows."""
    nc = dsp.N_CEP
    gq = g.op(
        "Sub",
        g.op("Cast", g.op("Mod", ling, g.i64(dsp.N_GAIN)), to=TensorProto.FLOAT),
        g.f32(dsp.N_GAIN // 2),
    )
    gcorr = g.op("Mul", gq, g.f32(dsp.GAIN_STEP))  # [B, 2G]
    voiced, lf = _f0_levels(g, ling)
    lfv = g.op("Mul", g.op("Sub", lf, g.f32(refiner.LF0_REF)), voiced)
    per = g.op(
        "Concat", *(g.op("Unsqueeze", v, g.i64(2, 3)) for v in (gcorr, voiced, lfv)), axis=3
    )  # [B, 2G, 1, 3]
    per = g.op("Tile", per, g.i64(1, 1, 3, 1))  # each linguistic token's three sub-frames
    # Gain correction onto c0 of both sub-frames: [B, 3G, 6] @ [6, 50] picks columns 0 and 3.
    ling6 = g.op("Reshape", per, g.i64(0, -1, refiner.LING))
    pick = np.zeros((refiner.LING, refiner.ROW), np.float32)
    pick[0, 0] = pick[3, nc] = refiner.SQRT_MEL
    base = g.op("Add", row, g.op("MatMul", ling6, g.const(pick)))
    rp = prm.refiner
    if rp is None:
        return base
    arr = {k: g.const(v.astype(np.float32), name=k) for k, v in rp.arrays().items()}
    u = g.op("Concat", row, ling6, axis=2)
    x = g.op("Mul", g.op("Sub", u, arr["refiner_mean"]), arr["refiner_scale"])
    w_ = refiner.WINDOW
    e = _edge(g, x, 1, w_)
    n = 2 * w_ + 1
    shifted = [g.slice(e, k, k - n + 1 if k < n - 1 else BIG, 1) for k in range(n)]
    x = g.op("Concat", *shifted, axis=2)
    h = g.op("Relu", g.op("Add", g.op("MatMul", x, arr["refiner_w1"]), arr["refiner_b1"]))
    h = g.op("Relu", g.op("Add", g.op("MatMul", h, arr["refiner_w2"]), arr["refiner_b2"]))
    out = g.op("Add", g.op("MatMul", h, arr["refiner_w3"]), arr["refiner_b3"])
    return g.op("Add", base, out)


def token_decoder_model(prm: decoder.DecoderParams) -> onnx.ModelProto:
    g = _G(TOKEN_DECODER)
    nc = dsp.N_CEP
    n_l, n_t = LINGUISTIC_PER_GROUP, TOKENS_PER_GROUP
    grp = g.op("Reshape", "audio_tokens", g.i64(0, -1, n_t))
    ling = g.op("Reshape", g.slice(grp, 0, n_l, 2), g.i64(0, -1))
    ling = g.op("Clip", ling, g.i64(0), g.i64(LINGUISTIC_CODES - 1))
    sem = g.op("Reshape", g.slice(grp, n_l, n_t, 2), g.i64(0, -1))
    sem = g.op("Sub", sem, g.i64(SEMANTIC_OFFSET))
    sem = g.op("Clip", sem, g.i64(0), g.i64(SEMANTIC_CODES - 1))
    row = g.op(
        "Gather", g.const(prm.dec_table.astype(np.float32), name="dec_table"), sem
    )  # [B, 3G, 50]
    row = _refined_rows(g, ling, row, prm)  # gain correction on c0 included
    if prm.row_scale is not None:
        row = g.op("Mul", row, g.const(prm.row_scale.astype(np.float32), name="row_scale"))
        row = g.op("Add", row, g.const(prm.row_offset.astype(np.float32), name="row_offset"))
    ca = g.op("Unsqueeze", g.slice(row, 0, nc, 2), g.i64(2))
    cb = g.op("Unsqueeze", g.slice(row, nc, 2 * nc, 2), g.i64(2))
    cep = g.op("Reshape", g.op("Concat", ca, cb, axis=2), g.i64(0, -1, nc))
    ap = g.op("Reshape", g.slice(row, 2 * nc, 2 * nc + 2, 2), g.i64(0, -1, 1))
    b_ = g.op("Slice", g.op("Shape", ling), g.i64(0), g.i64(1))
    sub = g.op("Concat", cep, ap, axis=2)  # [B, 6G, 25]
    e = _edge(g, sub, 1)
    mid = g.slice(e, 1, -1, 1)
    q75 = g.op("Mul", g.f32(0.75), mid)
    even = g.op("Add", q75, g.op("Mul", g.f32(0.25), g.slice(e, 0, -2, 1)))
    odd = g.op("Add", q75, g.op("Mul", g.f32(0.25), g.slice(e, 2, BIG, 1)))
    fr = g.op("Concat", g.op("Unsqueeze", even, g.i64(2)), g.op("Unsqueeze", odd, g.i64(2)), axis=2)
    fr = g.op("Reshape", fr, g.i64(0, -1, nc + 1))  # [B, 12G, 25]
    # F0 from linguistic tokens.
    voiced, lf = _f0_levels(g, ling)
    vpad, lpad = _edge2(g, voiced), _edge2(g, lf)
    n_f = g.op("Slice", g.op("Shape", fr), g.i64(1), g.i64(2))
    i = g.op("Range", g.i64(0), g.op("Squeeze", n_f, g.i64(0)), g.i64(1))
    k0, a = decoder.f0_interp_positions()
    im = g.op("Mod", i, g.i64(12))
    idx0 = g.op(
        "Add",
        g.op("Add", g.op("Mul", g.op("Div", i, g.i64(12)), g.i64(2)), g.i64(1)),
        g.op("Gather", g.const(k0.astype(np.int64)), im),
    )
    idx1 = g.op("Add", idx0, g.i64(1))
    av = g.op("Gather", g.const(a), im)
    w0 = g.op("Mul", g.op("Sub", g.f32(1.0), av), g.op("Gather", vpad, idx0, axis=1))
    w1 = g.op("Mul", av, g.op("Gather", vpad, idx1, axis=1))
    vs = g.op("Add", w0, w1)
    num = g.op(
        "Add",
        g.op(
            "Add",
            g.op("Mul", w0, g.op("Gather", lpad, idx0, axis=1)),
            g.op("Mul", w1, g.op("Gather", lpad, idx1, axis=1)),
        ),
        g.f32(1e-3 * decoder.DEFAULT_LF0),
    )
    lf0 = g.op("Div", num, g.op("Add", vs, g.f32(1e-3)))
    apf = g.op("Squeeze", g.slice(fr, nc, nc + 1, 2), g.i64(2))
    per = g.op(
        "Sub", g.f32(1.0), g.op("Mul", g.op("Sub", apf, g.f32(prm.ap_offset)), g.f32(prm.ap_scale))
    )
    per = g.op("Mul", g.op("Clip", per, g.f32(0.0), g.f32(1.0)), vs)
    vw = g.op("Sqrt", per)
    nw = g.op("Sqrt", g.op("Sub", g.f32(1.0), per))
    seed = g.op("Mod", g.op("ReduceSum", grp, g.i64(2), keepdims=0), g.i64(dsp.NOISE_SEGMENTS))
    seed = g.op(
        "Expand",
        g.op("Unsqueeze", g.op("Cast", seed, to=TensorProto.FLOAT), g.i64(2)),
        g.op("Concat", b_, g.i64(1), g.i64(12), axis=0),
    )
    seed = g.op("Reshape", seed, g.i64(0, -1))
    cols = [g.slice(fr, 0, nc, 2)] + [g.op("Unsqueeze", v, g.i64(2)) for v in (lf0, vw, nw, seed)]
    g.op("Concat", *cols, axis=2, out="acoustic_features")
    return g.model(
        [_io("audio_tokens", TensorProto.INT64, ["B", "L"])],
        [_io("acoustic_features", TensorProto.FLOAT, ["B", "T", dsp.N_FEAT])],
    )


def _edge2(g: _G, x: str) -> str:
    return g.op("Concat", g.slice(x, 0, 1, 1), x, g.slice(x, -1, BIG, 1), axis=1)


def vocoder_model() -> onnx.ModelProto:
    g = _G(VOCODER)
    feat = "acoustic_features"
    fpg = dsp.FRAMES_PER_GROUP
    lf0 = g.slice(feat, dsp.F_LF0, dsp.F_LF0 + 1, 2)
    per = g.op("Concat", g.op("Exp", lf0), g.slice(feat, dsp.F_VW, dsp.F_NW + 1, 2), axis=2)
    pe = g.op("Reshape", _edge(g, per, 1, fpg), g.i64(0, -1, fpg, 3))  # [B, G+2, 12, 3]
    win = g.op(
        "Concat",
        g.slice(g.slice(pe, 0, -2, 1), fpg - 1, fpg, 2),
        g.slice(pe, 1, -1, 1),
        g.slice(g.slice(pe, 2, BIG, 1), 0, 1, 2),
        axis=2,
    )
    win = g.op("Transpose", win, perm=[0, 1, 3, 2])  # [B, G, 3, 14]
    samp = g.op("MatMul", win, g.const(dsp.sample_interp_matrix()))  # [B, G, 3, 1920]
    f0 = g.op("Squeeze", g.slice(samp, 0, 1, 2), g.i64(2))
    vw = g.op("Squeeze", g.slice(samp, 1, 2, 2), g.i64(2))
    nw = g.op("Squeeze", g.slice(samp, 2, 3, 2), g.i64(2))
    loc = g.op("CumSum", g.op("Div", f0, g.f32(dsp.SR)), g.i64(2))
    end = g.op("Squeeze", g.slice(loc, -1, BIG, 2), g.i64(2))
    prev = g.slice(g.op("Pad", end, g.i64(0, 1, 0, 0), g.f32(0.0)), 0, -1, 1)
    wrap = g.op("Sub", prev, g.op("Round", prev))
    ramp = 1.0 - (np.arange(dsp.GROUP, dtype=np.float32) + 1) / np.float32(dsp.GROUP)
    phase = g.op(
        "Add", loc, g.op("Mul", g.const(ramp.astype(np.float32)), g.op("Unsqueeze", wrap, g.i64(2)))
    )
    # Band-limited pulse train (Dirichlet kernel).
    m = g.op("Floor", g.op("Div", g.f32(7800.0), f0))
    frac = g.op("Sub", phase, g.op("Floor", phase))
    pi = g.f32(np.pi)
    den = g.op("Sin", g.op("Mul", pi, frac))
    m21 = g.op("Add", g.op("Mul", g.f32(2.0), m), g.f32(1.0))
    num = g.op("Sin", g.op("Mul", g.op("Mul", pi, m21), frac))
    small = g.op("Less", g.op("Abs", den), g.f32(1e-4))
    d = g.op(
        "Sub",
        g.op("Where", small, m21, g.op("Div", num, g.op("Where", small, g.f32(1.0), den))),
        g.f32(1.0),
    )
    ev = g.op("Div", d, g.op("Sqrt", g.op("Mul", g.f32(2.0), m)))
    seg = g.op(
        "Squeeze", g.slice(g.slice(feat, dsp.F_SEED, dsp.F_SEED + 1, 2), 0, BIG, 1, fpg), g.i64(2)
    )
    seg = g.op(
        "Cast", g.op("Clip", seg, g.f32(0.0), g.f32(dsp.NOISE_SEGMENTS - 1)), to=TensorProto.INT64
    )
    table = dsp.noise_table().reshape(dsp.NOISE_SEGMENTS, dsp.GROUP)
    noise = g.op("Gather", g.const(table), seg)  # [B, G, 1920]
    exc = g.op("Add", g.op("Mul", vw, ev), g.op("Mul", nw, noise))
    exc = g.op("Reshape", exc, g.i64(0, -1))
    half = dsp.SYN_WIN // 2
    x = g.op("Pad", exc, g.i64(0, half, 0, half), g.f32(0.0))
    t1 = g.op("Add", g.op("Slice", g.op("Shape", feat), g.i64(1), g.i64(2)), g.i64(1))
    starts = g.op(
        "Mul", g.op("Range", g.i64(0), g.op("Squeeze", t1, g.i64(0)), g.i64(1)), g.i64(dsp.HOP)
    )
    idx = g.op(
        "Add",
        g.op("Unsqueeze", starts, g.i64(1)),
        g.const(np.arange(dsp.SYN_WIN, dtype=np.int64)[None, :]),
    )
    w = g.const(dsp.hann(dsp.SYN_WIN).astype(np.float32))
    fr = g.op("Mul", g.op("Gather", x, idx, axis=1), w)  # [B, T+1, 640]
    fc, fs, ic, is_ = dsp.synthesis_dft()
    re = g.op("MatMul", fr, g.const(fc))
    im = g.op("MatMul", fr, g.const(fs))
    cp = _edge(g, g.slice(feat, 0, dsp.N_CEP, 2), 1)
    cep_m = g.op("Mul", g.f32(0.5), g.op("Add", g.slice(cp, 0, -1, 1), g.slice(cp, 1, BIG, 1)))
    amp = g.op("Exp", g.op("Mul", g.f32(0.5), g.op("MatMul", cep_m, g.const(dsp.cep_to_logspec()))))
    y = g.op(
        "Add",
        g.op("MatMul", g.op("Mul", re, amp), g.const(ic)),
        g.op("MatMul", g.op("Mul", im, amp), g.const(is_)),
    )
    y = g.op("Mul", g.op("Mul", y, w), g.f32(1.0 / dsp.ola_norm()))
    q = g.op("Reshape", y, g.i64(0, -1, 4, dsp.HOP))
    parts = []
    for i in range(4):
        qi = g.op("Squeeze", g.slice(q, i, i + 1, 2), g.i64(2))
        parts.append(g.op("Pad", qi, g.i64(0, i, 0, 0, 3 - i, 0), g.f32(0.0)))
    acc = parts[0]
    for p_ in parts[1:]:
        acc = g.op("Add", acc, p_)
    out = g.op("Reshape", g.slice(acc, 2, -2, 1), g.i64(0, -1))
    # decoder.soft_limit: sign(y) (min(|y|, knee) + (1 - knee) tanh(relu(|y| - knee) / (1 - knee)))
    knee, rest = decoder.OUTPUT_KNEE, 1.0 - decoder.OUTPUT_KNEE
    a = g.op("Abs", out)
    over = g.op("Div", g.op("Relu", g.op("Sub", a, g.f32(knee))), g.f32(rest))
    limited = g.op("Add", g.op("Min", a, g.f32(knee)), g.op("Mul", g.f32(rest), g.op("Tanh", over)))
    g.op("Mul", g.op("Sign", out), limited, out="waveform")
    return g.model(
        [_io("acoustic_features", TensorProto.FLOAT, ["B", "T", dsp.N_FEAT])],
        [_io("waveform", TensorProto.FLOAT, ["B", "S"])],
    )


def speaker_adapter_model() -> onnx.ModelProto:
    """speaker.shift_features as a graph: Slice, Unsqueeze, Add, Clip, Concat (TensorRT ops)."""
    g = _G(SPEAKER_ADAPTER)
    feat, shift = "acoustic_features", "speaker_shift"
    nc = dsp.N_CEP
    d = g.op("Unsqueeze", shift, g.i64(1))  # [B, 1, 25]
    cep = g.op("Add", g.slice(feat, 0, nc, 2), g.slice(d, 0, nc, 2))
    lf0 = g.op("Add", g.slice(feat, nc, nc + 1, 2), g.slice(d, nc, nc + 1, 2))
    lo, hi = speaker.LOG_F0_RANGE
    lf0 = g.op("Clip", lf0, g.f32(lo), g.f32(hi))
    rest = g.slice(feat, nc + 1, dsp.N_FEAT, 2)
    g.op("Concat", cep, lf0, rest, axis=2, out="shifted_features")
    return g.model(
        [
            _io(feat, TensorProto.FLOAT, ["B", "T", dsp.N_FEAT]),
            _io(shift, TensorProto.FLOAT, ["B", speaker.SHIFT_SIZE]),
        ],
        [_io("shifted_features", TensorProto.FLOAT, ["B", "T", dsp.N_FEAT])],
    )


# Graphs without fitted constants: the same bytes for every seed and corpus.
PARAMETER_FREE = {SPEAKER_ADAPTER: speaker_adapter_model, VOCODER: vocoder_model}


def joint_from_build(model_dir: Path) -> onnx.ModelProto:
    """The joint tokenizer with the constants of a build's linguistic tokenizer (which holds
    every encoder constant, the gain table included), to add it to an existing build."""
    ling = onnx.load(str(model_dir / LINGUISTIC_TOKENIZER / "1" / "model.onnx"))
    prm = encoder_params(ling)
    gain = {i.name: numpy_helper.to_array(i) for i in ling.graph.initializer}["gain_table"]
    prm.dec_table[:, [0, dsp.N_CEP]] = gain
    meta = {p.key: p.value for p in ling.metadata_props}
    return _meta(joint_tokenizer_model(prm), **meta)


# Graphs `build --only` can add to an existing build, from nothing or from the fitted ones.
ADDABLE: dict[str, Callable[[Path], onnx.ModelProto]] = {
    **{name: (lambda _dir, make=make: make()) for name, make in PARAMETER_FREE.items()},
    JOINT_TOKENIZER: joint_from_build,
}


def export_all(prm: EncoderParams, dprm: decoder.DecoderParams) -> dict[str, onnx.ModelProto]:
    enc_meta = {
        "context_groups": prm.context_groups,
        "norm_half_window": prm.norm_half_window,
        "prior_weight": repr(float(prm.prior_weight)),
    }
    return {
        LINGUISTIC_TOKENIZER: _meta(linguistic_model(prm), **enc_meta),
        SEMANTIC_TOKENIZER: _meta(semantic_model(prm), **enc_meta),
        JOINT_TOKENIZER: _meta(joint_tokenizer_model(prm), **enc_meta),
        TOKEN_DECODER: _meta(
            token_decoder_model(dprm), ap_offset=dprm.ap_offset, ap_scale=dprm.ap_scale
        ),
        VOCODER: vocoder_model(),
        SPEAKER_ADAPTER: speaker_adapter_model(),
    }


def encoder_params(model: onnx.ModelProto) -> EncoderParams:
    """Recover the numpy reference's constants from a tokenizer graph."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    meta = {p.key: p.value for p in model.metadata_props}
    cb = np.ascontiguousarray(inits["codebook_t"].T)
    return EncoderParams(
        int(meta["context_groups"]),
        int(meta["norm_half_window"]),
        float(meta["prior_weight"]),
        inits["mu"],
        inits["vq_weights"],
        cb,
        np.zeros((len(cb), 2 * dsp.N_CEP + 2), np.float32),
    )


def decoder_params(model: onnx.ModelProto) -> decoder.DecoderParams:
    """Recover the numpy reference's constants from the token_decoder graph."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    meta = {p.key: p.value for p in model.metadata_props}
    return decoder.DecoderParams(
        inits["dec_table"],
        float(meta.get("ap_offset", decoder.DecoderParams.ap_offset)),
        float(meta.get("ap_scale", decoder.DecoderParams.ap_scale)),
        refiner.RefinerParams.from_arrays(inits),
        inits.get("row_scale"),
        inits.get("row_offset"),
    )


def _meta(m: onnx.ModelProto, **kv) -> onnx.ModelProto:
    for k, v in kv.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    return m


def encoder_from_build(model_dir: Path) -> tuple[EncoderParams, dict[str, str]]:
    """The encoder constants (gain table included) and metadata of a build's linguistic
    tokenizer, which holds every one of them: to add derived graphs to an existing build."""
    ling = onnx.load(str(model_dir / LINGUISTIC_TOKENIZER / "1" / "model.onnx"))
    prm = encoder_params(ling)
    gain = {i.name: numpy_helper.to_array(i) for i in ling.graph.initializer}["gain_table"]
    prm.dec_table[:, [0, dsp.N_CEP]] = gain
    return prm, {p.key: p.value for p in ling.metadata_props}


def _joint_from_build(model_dir: Path) -> dict[str, onnx.ModelProto]:
    prm, meta = encoder_from_build(model_dir)
    return {"model.onnx": _meta(joint_tokenizer_model(prm), **meta)}


# Graphs `build --only` can add to an existing build (file name -> graph per model folder),
# from nothing or from the fitted tokenizer's constants: the bytes a full build writes.
ADDABLE: dict[str, Callable[[Path], dict[str, onnx.ModelProto]]] = {
    **{
        name: (lambda _dir, make=make: {"model.onnx": make()})
        for name, make in PARAMETER_FREE.items()
    },
    JOINT_TOKENIZER: _joint_from_build,
    STREAM_TOKENIZER: lambda model_dir: stream_graphs(encoder_from_build(model_dir)[0]),
}
