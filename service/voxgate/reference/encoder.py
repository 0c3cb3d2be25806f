"""Numpy reference of the two tokenizers (the ONNX graphs compute the same maths in float32).

Per 20 ms sub-frame: autocorrelation pitch (lag, harmonicity), a pitch-adaptive smoothed power
spectrum (CheapTrick-like rectangular smoothing one F0 wide, via a cumulative sum), a 40-band
mel log spectrum and 24 cepstral coefficients (c0 = gain). The envelope shape (c1..c23) is
normalised by an energy-weighted mean over a bounded window of +-W sub-frames, shrunk towards
the training mean, so tokens depend only on bounded local context.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dsp

SQRT_MEL = float(np.sqrt(dsp.N_MEL))
NC = dsp.N_CEP - 1  # normalised shape coefficients per sub-frame
SEM_DIM = 2 * NC + 4


@dataclass
class EncoderParams:
    """Constants of the tokenizers (stored as initializers in the ONNX graphs)."""

    context_groups: int
    norm_half_window: int  # W sub-frames
    prior_weight: float  # lambda: pseudo-frames of the training mean in the local mean
    mu: np.ndarray  # [NC] training mean of c1..c23
    weights: np.ndarray  # [SEM_DIM] per-dimension weights of the VQ space
    codebook: np.ndarray  # [4096, SEM_DIM] in the weighted space
    dec_table: np.ndarray  # [4096, 2 * N_CEP + 2] natural units: cep_a, cep_b, ap_a, ap_b

    @property
    def pad(self) -> int:
        return dsp.SUB * self.norm_half_window + dsp.NFFT


def half_window_for(context_groups: int) -> int:
    """Largest W whose dependency span (incl. the linguistic gain correction) fits the context."""
    return (context_groups * dsp.GROUP - 480) // dsp.SUB


def frame_index(n_sub: int) -> np.ndarray:
    """[n_sub, NFFT] indices into the padded waveform (pad = 320 W + 1024) for j' = 0..n_sub-1."""
    return np.arange(n_sub)[:, None] * dsp.SUB + (dsp.NFFT - 352) + np.arange(dsp.NFFT)[None, :]


def analyse(frames: np.ndarray, warp: float = 1.0) -> dict[str, np.ndarray]:
    """Sub-frame analysis of [B, J, NFFT] frames. ``warp`` != 1 only for codebook augmentation."""
    wp, ws = dsp.analysis_windows()
    frames = frames.astype(np.float32)
    xp = np.fft.rfft(frames * wp, axis=-1)
    pp = (xp.real**2 + xp.imag**2).astype(np.float32)
    r = pp @ dsp.autocorr_matrix()
    rn = r[..., 1:] / (r[..., :1] + np.float32(1e-9)) * dsp.window_autocorr_norm()
    best = np.argmax(rn - dsp.octave_penalty(), axis=-1)
    h = np.take_along_axis(rn, best[..., None], -1)[..., 0]
    lag = (best + dsp.LAG_MIN).astype(np.float32)

    xs = np.fft.rfft(frames * ws, axis=-1)
    p = (xs.real**2 + xs.imag**2).astype(np.float32)
    logpow = np.log(p.mean(-1) + np.float32(1e-10))
    voiced = (h > dsp.VOICING_THRESHOLD) & (logpow > dsp.SILENCE_LOGPOW)
    f0 = np.float32(dsp.SR) / lag
    width = np.where(voiced, f0, np.float32(dsp.UNVOICED_WIDTH_HZ))
    psm = pitch_adaptive_smooth(p, width * np.float32(0.5 * dsp.NFFT / dsp.SR))
    if warp != 1.0:
        src = np.clip(np.arange(dsp.NBIN) / warp, 0, dsp.NBIN - 1.001)
        i0 = np.floor(src).astype(np.int64)
        fr = (src - i0).astype(np.float32)
        psm = psm[..., i0] * (1 - fr) + psm[..., i0 + 1] * fr
    logmel = np.log(psm @ dsp.mel_filterbank() + np.float32(dsp.MEL_FLOOR))
    cep = logmel @ dsp.dct_matrix()
    ap = np.float32(1.0) - np.clip(h, 0.0, 1.0)
    return {
        "cep": cep.astype(np.float32),
        "ap": ap.astype(np.float32),
        "voiced": voiced,
        "f0": f0.astype(np.float32),
    }


def pitch_adaptive_smooth(p: np.ndarray, half_bins: np.ndarray) -> np.ndarray:
    """Mean of the power spectrum over [k+0.5-hb, k+0.5+hb] (float64 cumsum, as in the graph)."""
    p64 = p.astype(np.float64)
    c = np.concatenate([np.zeros((*p.shape[:-1], 1)), np.cumsum(p64, axis=-1)], axis=-1)
    k = np.arange(dsp.NBIN, dtype=np.float32) + np.float32(0.5)
    hb = half_bins[..., None].astype(np.float32)
    lo = np.clip(k - hb, 0, dsp.NBIN)
    hi = np.clip(k + hb, 0, dsp.NBIN)

    def at(x):
        i = np.minimum(np.floor(x), dsp.NBIN - 1).astype(np.int64)
        f = (x - i).astype(np.float64)
        c0 = np.take_along_axis(c, i, -1)
        c1 = np.take_along_axis(c, i + 1, -1)
        return c0 + f * (c1 - c0)

    return ((at(hi) - at(lo)) / (hi - lo).astype(np.float64)).astype(np.float32)


def speech_weight(cep0: np.ndarray) -> np.ndarray:
    """Weight of a sub-frame in the local mean: 0 for silence, 1 for speech."""
    return np.clip((cep0 / np.float32(SQRT_MEL) - np.float32(dsp.SILENCE_LOGPOW)) * 0.25, 0, 1)


def normalise(cep: np.ndarray, prm: EncoderParams) -> np.ndarray:
    """[B, J, N_CEP] -> [B, J - 2W, NC] shape coefficients minus their bounded local mean."""
    w_ = prm.norm_half_window
    wt = speech_weight(cep[..., 0]).astype(np.float32)
    shape = cep[..., 1:]
    ws = np.cumsum(np.concatenate([np.zeros_like(wt[:, :1]), wt], 1), 1, dtype=np.float64)
    cs = np.cumsum(
        np.concatenate([np.zeros_like(shape[:, :1]), shape * wt[..., None]], 1), 1, dtype=np.float64
    )
    n = wt.shape[1] - 2 * w_
    sw = ws[:, 2 * w_ + 1 : 2 * w_ + 1 + n] - ws[:, :n]
    sc = cs[:, 2 * w_ + 1 : 2 * w_ + 1 + n] - cs[:, :n]
    lam = prm.prior_weight
    mean = (sc + lam * prm.mu.astype(np.float64)) / (sw[..., None] + lam)
    return (shape[:, w_ : w_ + n] - mean.astype(np.float32)).astype(np.float32)


def semantic_vectors(an: dict[str, np.ndarray], prm: EncoderParams) -> np.ndarray:
    """Unweighted semantic vectors [B, n_sem, SEM_DIM] for sub-frames W.. (pairs)."""
    w_ = prm.norm_half_window
    shp = normalise(an["cep"], prm)
    b, n = shp.shape[:2]
    n_sem = n // 2
    c0 = an["cep"][:, w_ : w_ + 2 * n_sem, 0] / np.float32(SQRT_MEL)
    ap = an["ap"][:, w_ : w_ + 2 * n_sem]
    shp = shp[:, : 2 * n_sem].reshape(b, n_sem, 2 * NC)
    return np.concatenate([shp, c0.reshape(b, n_sem, 2), ap.reshape(b, n_sem, 2)], -1)


def vq(x: np.ndarray, prm: EncoderParams) -> np.ndarray:
    xw = x * prm.weights
    cb = prm.codebook
    d = (cb * cb).sum(-1) - 2.0 * (xw @ cb.T)
    return np.argmin(d, axis=-1).astype(np.int64)


def _padded(wav: np.ndarray, prm: EncoderParams) -> np.ndarray:
    wav = np.asarray(wav, np.float32)
    if wav.ndim == 1:
        wav = wav[None]
    return np.pad(wav, ((0, 0), (prm.pad, prm.pad)))


def semantic_tokens(wav: np.ndarray, prm: EncoderParams) -> np.ndarray:
    """[B, S] -> [B, S // 640] semantic ids in [0, 4096)."""
    x = _padded(wav, prm)
    n_sem = (x.shape[1] - 2 * prm.pad) // dsp.SEM_HOP
    an = analyse(x[:, frame_index(2 * n_sem + 2 * prm.norm_half_window)])
    return vq(semantic_vectors(an, prm), prm)


def linguistic_tokens(wav: np.ndarray, prm: EncoderParams) -> np.ndarray:
    """[B, S] -> [B, S // 960] linguistic ids in [0, 1024): F0 level * 32 + gain correction."""
    x = _padded(wav, prm)
    n_l = (x.shape[1] - 2 * prm.pad) // dsp.LING_HOP
    n_sem = (3 * n_l + 1) // 2
    w_ = prm.norm_half_window
    an = analyse(x[:, frame_index(2 * n_sem + 2 * w_)])
    codes = vq(semantic_vectors(an, prm), prm)
    return linguistic_from(an, codes, n_l, prm)


def linguistic_from(
    an: dict[str, np.ndarray], codes: np.ndarray, n_l: int, prm: EncoderParams
) -> np.ndarray:
    w_ = prm.norm_half_window
    b = codes.shape[0]
    c0_dec = prm.dec_table[:, [0, dsp.N_CEP]][codes].reshape(b, -1)[:, : 3 * n_l]
    c0 = an["cep"][:, w_ : w_ + 3 * n_l, 0]
    corr = ((c0 - c0_dec) / np.float32(SQRT_MEL)).reshape(b, n_l, 3).mean(-1)
    gq = np.clip(np.round(corr / np.float32(dsp.GAIN_STEP)) + dsp.N_GAIN // 2, 0, dsp.N_GAIN - 1)
    mid = slice(w_ + 1, w_ + 3 * n_l, 3)
    f0 = an["f0"][:, mid]
    scale = np.float32((dsp.N_F0 - 1) / np.log(dsp.F0_MAX / dsp.F0_MIN))
    fq = np.clip(np.round(np.log(f0 / np.float32(dsp.F0_MIN)) * scale), 0, dsp.N_F0 - 1)
    fq = np.where(an["voiced"][:, mid], fq, dsp.N_F0)
    return (fq.astype(np.int64) * dsp.N_GAIN + gq.astype(np.int64)).astype(np.int64)
