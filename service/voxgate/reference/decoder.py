"""Numpy reference of token_decoder (ids -> acoustic features) and vocoder (features -> audio).

Acoustic features, 12 frames (10 ms) per group, F = 28:
``[cep c0..c23, log F0 (Hz), voiced-excitation weight, noise weight, noise segment]``.

The vocoder's excitation phase is group-local: within group g it is the cumulative F0 from the
group start plus a linear ramp that removes (from 1 at the start to 0 at the end) the wrapped
phase group g-1 ended with. The phase is continuous modulo one cycle and depends only on groups
g-1 and g, so chunked decoding matches whole decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxgate.interleave import (
    LINGUISTIC_CODES,
    LINGUISTIC_PER_GROUP,
    SEMANTIC_CODES,
    SEMANTIC_OFFSET,
    TOKENS_PER_GROUP,
)

from . import dsp
from .refiner import RefinerParams, f0_levels, refine, token_inputs

SQRT_MEL = float(np.sqrt(dsp.N_MEL))
DEFAULT_LF0 = float(np.log(120.0))
DECODER_CONTEXT_GROUPS = 2
# Postfilter of the built decoder (`postfilter_rows`), chosen on the quality bench (issue 13):
# envelope shape 15 % further from the training mean, level trimmed by 0.15 dB.
POSTFILTER_SHARPEN = 1.15
LEVEL_TRIM_DB = -0.15
# The vocoder's zero-phase pulses put every harmonic's peak at the same instant, so decoded
# speech has about twice natural speech's crest factor: input peaking at -3 dBFS came back
# peaking at up to 2.1 (most held-out sentences above 1.0), which the façade's output
# encoders then clipped hard at +-1. Samples above the knee are compressed smoothly towards
# full scale instead (per sample, so chunked decoding still equals whole decoding).
OUTPUT_KNEE = 0.75


@dataclass
class DecoderParams:
    dec_table: np.ndarray  # [4096, 2 * N_CEP + 2]
    ap_offset: float = 0.4  # aperiodicity that still counts as fully periodic (tuned, STOI)
    ap_scale: float = 2.0
    refiner: RefinerParams | None = None  # None: the codebook lookup alone
    # Per-column affine map of the (refined) rows, `row * row_scale + row_offset` ([50] each):
    # the envelope postfilter and the level trim (`postfilter_rows`); None: identity.
    row_scale: np.ndarray | None = None
    row_offset: np.ndarray | None = None


def postfilter_rows(
    shape_mean: np.ndarray, sharpen: float, gain_db: float
) -> tuple[np.ndarray, np.ndarray]:
    """(row_scale, row_offset) of the envelope postfilter and level trim.

    Each sub-frame's envelope shape c1..c23 moves away from the training mean ``shape_mean``
    by the factor ``sharpen`` (formants and spectral contrast that quantisation and regression
    flattened), and c0 rises by ``gain_db`` (c0 / sqrt(40) is the mean log-mel power in nats).
    """
    scale = np.ones(2 * dsp.N_CEP + 2, np.float32)
    offset = np.zeros(2 * dsp.N_CEP + 2, np.float32)
    for s in range(2):
        shape = slice(s * dsp.N_CEP + 1, (s + 1) * dsp.N_CEP)
        scale[shape] = sharpen
        offset[shape] = (1.0 - sharpen) * np.asarray(shape_mean, np.float32)
        offset[s * dsp.N_CEP] = gain_db * SQRT_MEL / (10.0 * np.log10(np.e))
    return scale.astype(np.float32), offset.astype(np.float32)


def split_ids(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[B, 5G] interleaved ids -> linguistic [B, 2G], semantic [B, 3G] (clipped to range).

    Unlike `voxgate.interleave.deinterleave` this never rejects ids: it mirrors what the
    token_decoder graph does with out-of-range input.
    """
    ids = np.asarray(ids, np.int64)
    b = ids.shape[0]
    g = ids.reshape(b, -1, TOKENS_PER_GROUP)
    n = LINGUISTIC_PER_GROUP
    ling = np.clip(g[:, :, :n], 0, LINGUISTIC_CODES - 1).reshape(b, -1)
    sem = np.clip(g[:, :, n:] - SEMANTIC_OFFSET, 0, SEMANTIC_CODES - 1).reshape(b, -1)
    return ling, sem


def _edge(x: np.ndarray, before: int, after: int) -> np.ndarray:
    return np.concatenate([x[:, :1]] * before + [x] + [x[:, -1:]] * after, axis=1)


def token_decoder(ids: np.ndarray, prm: DecoderParams) -> np.ndarray:
    """[B, 5G] -> [B, 12G, N_FEAT]."""
    ids = np.asarray(ids, np.int64)
    b = ids.shape[0]
    n_g = ids.shape[1] // 5
    ling, sem = split_ids(ids[:, : 5 * n_g])
    n_sub = 6 * n_g
    u, row = token_inputs(ling, sem, prm.dec_table)  # row: lookup + gain correction on c0
    if prm.refiner is not None:
        row = refine(u, row, prm.refiner)
    if prm.row_scale is not None:
        row = (row * prm.row_scale + prm.row_offset).astype(np.float32)
    nc = dsp.N_CEP
    cep = np.stack([row[..., :nc], row[..., nc : 2 * nc]], 2).reshape(b, n_sub, nc)
    ap = row[..., 2 * nc :].reshape(b, n_sub)
    sub = np.concatenate([cep, ap[..., None]], -1)  # [B, 6G, 25]
    # Sub-frames (20 ms) -> frames (10 ms): frame 2j = .75 s_j + .25 s_{j-1}, 2j+1 with s_{j+1}.
    e = _edge(sub, 1, 1)
    even = 0.75 * e[:, 1:-1] + 0.25 * e[:, :-2]
    odd = 0.75 * e[:, 1:-1] + 0.25 * e[:, 2:]
    fr = np.stack([even, odd], 2).reshape(b, 2 * n_sub, -1).astype(np.float32)
    # F0 per linguistic token (centre 960k + 480) -> frames (centre 160i + 80).
    voiced, lf = f0_levels(ling)
    k0, a = f0_interp_positions()
    vpad, lpad = _edge(voiced, 1, 1), _edge(lf, 1, 1)
    n_f = 2 * n_sub
    i = np.arange(n_f)
    base = (i // 12) * 2 + 1  # padded index of the group's first linguistic token
    idx0 = base + k0[i % 12]
    w0 = (1 - a[i % 12]) * vpad[:, idx0]
    w1 = a[i % 12] * vpad[:, idx0 + 1]
    vs = w0 + w1
    lf0 = (w0 * lpad[:, idx0] + w1 * lpad[:, idx0 + 1] + np.float32(1e-3 * DEFAULT_LF0)) / (
        vs + np.float32(1e-3)
    )
    apf = fr[..., -1]
    periodic = np.clip(1.0 - (apf - prm.ap_offset) * prm.ap_scale, 0.0, 1.0) * vs
    vw = np.sqrt(periodic)
    nw = np.sqrt(1.0 - periodic)
    seed = (ids[:, : 5 * n_g].reshape(b, n_g, 5).sum(-1) % dsp.NOISE_SEGMENTS).astype(np.float32)
    seed = np.repeat(seed, 12, axis=1)
    out = np.concatenate(
        [fr[..., :nc], lf0[..., None], vw[..., None], nw[..., None], seed[..., None]], -1
    )
    return out.astype(np.float32)


def f0_interp_positions() -> tuple[np.ndarray, np.ndarray]:
    """For the 12 frames of a group: offset of the left linguistic token (-1..1) and weight."""
    u = (np.arange(12) * dsp.HOP + dsp.HOP / 2 - dsp.LING_HOP / 2) / dsp.LING_HOP
    k0 = np.floor(u).astype(np.int64)
    return k0, (u - k0).astype(np.float32)


def vocoder(feat: np.ndarray) -> np.ndarray:
    """[B, 12G, N_FEAT] -> [B, 1920G] float32 waveform."""
    feat = np.asarray(feat, np.float32)
    b, t, _ = feat.shape
    n_g = t // dsp.FRAMES_PER_GROUP
    feat = feat[:, : n_g * dsp.FRAMES_PER_GROUP]
    t = n_g * dsp.FRAMES_PER_GROUP
    # Per-sample F0 and mixing weights, linear between frame centres.
    per = np.stack([np.exp(feat[..., dsp.F_LF0]), feat[..., dsp.F_VW], feat[..., dsp.F_NW]], -1)
    pe = _edge(per, dsp.FRAMES_PER_GROUP, dsp.FRAMES_PER_GROUP).reshape(b, n_g + 2, 12, 3)
    win = np.concatenate([pe[:, :-2, -1:], pe[:, 1:-1], pe[:, 2:, :1]], 2)  # [B, G, 14, 3]
    samp = np.einsum("bgfc,fs->bgsc", win, dsp.sample_interp_matrix())  # [B, G, 1920, 3]
    f0, vw, nw = samp[..., 0], samp[..., 1], samp[..., 2]
    inc = f0 / np.float32(dsp.SR)
    loc = np.cumsum(inc, axis=2, dtype=np.float32)
    end = loc[:, :, -1]
    prev = np.concatenate([np.zeros_like(end[:, :1]), end[:, :-1]], 1)
    wrap = prev - np.round(prev)
    ramp = np.float32(1.0) - (np.arange(dsp.GROUP, dtype=np.float32) + 1) / np.float32(dsp.GROUP)
    phase = loc + ramp * wrap[..., None]
    ev = pulse_train(phase, f0)
    seg = feat[:, :: dsp.FRAMES_PER_GROUP, dsp.F_SEED].astype(np.int64)  # [B, G]
    table = dsp.noise_table().reshape(dsp.NOISE_SEGMENTS, dsp.GROUP)
    noise = table[np.clip(seg, 0, dsp.NOISE_SEGMENTS - 1)]
    exc = (vw * ev + nw * noise).reshape(b, -1).astype(np.float32)
    # STFT filtering by the envelope: frames centred at 160 m, m = 0..T.
    x = np.pad(exc, ((0, 0), (dsp.SYN_WIN // 2, dsp.SYN_WIN // 2)))
    idx = np.arange(t + 1)[:, None] * dsp.HOP + np.arange(dsp.SYN_WIN)[None, :]
    w = dsp.hann(dsp.SYN_WIN).astype(np.float32)
    fr = x[:, idx] * w
    fc, fs, ic, is_ = dsp.synthesis_dft()
    re, im = fr @ fc, fr @ fs
    cp = _edge(feat[..., dsp.F_CEP], 1, 1)
    cep_m = np.float32(0.5) * (cp[:, :-1] + cp[:, 1:])  # [B, T+1, 24]
    amp = np.exp(np.float32(0.5) * (cep_m @ dsp.cep_to_logspec()))
    y = ((re * amp) @ ic + (im * amp) @ is_) * w * np.float32(1.0 / dsp.ola_norm())
    return soft_limit(overlap_add(y, t))


def soft_limit(y: np.ndarray, knee: float = OUTPUT_KNEE) -> np.ndarray:
    """Identity up to ``knee``, then ``knee + (1 - knee) tanh((|y| - knee) / (1 - knee))``:
    continuous in value and slope, always inside (-1, 1)."""
    a = np.abs(y)
    rest = np.float32(1.0 - knee)
    over = np.maximum(a - np.float32(knee), np.float32(0.0))
    return (np.sign(y) * (np.minimum(a, np.float32(knee)) + rest * np.tanh(over / rest))).astype(
        np.float32
    )


def pulse_train(phase: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Band-limited unit-power pulse train: sum_{h=1..M} 2 cos(2 pi h phase) / sqrt(2M)."""
    m = np.floor(np.float32(7800.0) / f0)
    fr = phase - np.floor(phase)
    den = np.sin(np.float32(np.pi) * fr)
    num = np.sin(np.float32(np.pi) * (2 * m + 1) * fr)
    small = np.abs(den) < np.float32(1e-4)
    d = np.where(small, 2 * m + 1, num / np.where(small, np.float32(1.0), den)) - 1
    return (d / np.sqrt(2 * m)).astype(np.float32)


def overlap_add(y: np.ndarray, t: int) -> np.ndarray:
    """Frames [B, T+1, 640] centred at 160 m -> [B, 160 T]."""
    b = y.shape[0]
    q = y.reshape(b, t + 1, 4, dsp.HOP)
    out = np.zeros((b, t + 4, dsp.HOP), np.float32)
    for i in range(4):
        out[:, i : i + t + 1] += q[:, :, i]
    return out[:, 2 : t + 2].reshape(b, -1)


def decode(ids: np.ndarray, prm: DecoderParams) -> np.ndarray:
    return vocoder(token_decoder(ids, prm))
