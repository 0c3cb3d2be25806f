"""Constants and fixed matrices shared by the numpy references and the ONNX graphs."""

from __future__ import annotations

import numpy as np

from voxgate.interleave import GROUP_SAMPLES, LINGUISTIC_PER_GROUP, SAMPLE_RATE, SEMANTIC_PER_GROUP

# The token format's constants, under the short names the reference modules use.
SR = SAMPLE_RATE
GROUP = GROUP_SAMPLES  # 120 ms
SEM_HOP = GROUP // SEMANTIC_PER_GROUP  # 640
LING_HOP = GROUP // LINGUISTIC_PER_GROUP  # 960
SUB = 320  # analysis sub-frame hop (20 ms): 2 per semantic token, 3 per linguistic token
SUB_PER_GROUP = GROUP // SUB  # 6

# Analysis: one 1024-sample frame per sub-frame centre, two windows inside it.
NFFT = 1024
NBIN = NFFT // 2 + 1
PITCH_WIN = 640
SPEC_WIN = 512
LAG_MIN = 36  # 444 Hz
LAG_MAX = 267  # 60 Hz
N_MEL = 40
N_CEP = 24
F0_MIN, F0_MAX = 60.0, 450.0
N_F0 = 31  # voiced levels; index 31 = unvoiced
N_GAIN = 32
GAIN_STEP = 0.2  # nats of mean log power per gain-correction level
UNVOICED_WIDTH_HZ = 250.0
VOICING_THRESHOLD = 0.45
OCTAVE_COST = 0.04
SILENCE_LOGPOW = -16.0  # mean log power (PSD units) below which a frame is treated as silence
MEL_FLOOR = 1e-10

# Synthesis.
HOP = 160  # 10 ms frames, 12 per group
FRAMES_PER_GROUP = GROUP // HOP
SYN_WIN = 640
SYN_BIN = SYN_WIN // 2 + 1
NOISE_SEGMENTS = 8
F_CEP = slice(0, N_CEP)
F_LF0, F_VW, F_NW, F_SEED = N_CEP, N_CEP + 1, N_CEP + 2, N_CEP + 3
N_FEAT = N_CEP + 4


def hann(n: int) -> np.ndarray:
    """Periodic Hann window."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float64)


def analysis_windows() -> tuple[np.ndarray, np.ndarray]:
    """Pitch and spectrum windows, each placed centrally in an NFFT-long frame."""
    wp = np.zeros(NFFT)
    o = (NFFT - PITCH_WIN) // 2
    wp[o : o + PITCH_WIN] = hann(PITCH_WIN)
    ws = np.zeros(NFFT)
    o = (NFFT - SPEC_WIN) // 2
    ws[o : o + SPEC_WIN] = hann(SPEC_WIN)
    # Scale the spectrum window so a unit-variance white noise has unit mean power per bin.
    ws /= np.sqrt(np.sum(ws**2))
    return wp.astype(np.float32), ws.astype(np.float32)


def autocorr_matrix() -> np.ndarray:
    """[NBIN, 1 + LAG_MAX - LAG_MIN + 1]: power spectrum -> autocorrelation at lag 0 and lags."""
    lags = np.concatenate([[0], np.arange(LAG_MIN, LAG_MAX + 1)])
    k = np.arange(NBIN)[:, None]
    wk = np.full(NBIN, 2.0)
    wk[0] = wk[-1] = 1.0
    m = wk[:, None] * np.cos(2 * np.pi * k * lags[None, :] / NFFT) / NFFT
    return m.astype(np.float32)


def window_autocorr_norm() -> np.ndarray:
    """1 / normalised autocorrelation of the pitch window at each searched lag (Boersma)."""
    wp, _ = analysis_windows()
    full = np.correlate(wp.astype(np.float64), wp.astype(np.float64), "full")[NFFT - 1 :]
    lags = np.arange(LAG_MIN, LAG_MAX + 1)
    return (full[0] / full[lags]).astype(np.float32)


def octave_penalty() -> np.ndarray:
    lags = np.arange(LAG_MIN, LAG_MAX + 1)
    return (OCTAVE_COST * np.log2(lags / LAG_MIN)).astype(np.float32)


def mel_filterbank(nbin: int = NBIN, n_mel: int = N_MEL) -> np.ndarray:
    """[nbin, n_mel] triangular filters, each normalised to sum 1 (a weighted mean)."""

    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.linspace(0, SR / 2, nbin)
    pts = mel2hz(np.linspace(hz2mel(0.0), hz2mel(SR / 2), n_mel + 2))
    fb = np.zeros((nbin, n_mel))
    for i in range(n_mel):
        lo, c, hi = pts[i], pts[i + 1], pts[i + 2]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[:, i] = np.maximum(0.0, np.minimum(up, down))
        if fb[:, i].sum() == 0:  # narrow low bands: take the nearest bin
            fb[np.argmin(np.abs(freqs - c)), i] = 1.0
    fb /= fb.sum(axis=0, keepdims=True)
    return fb.astype(np.float32)


def mel_centres(n_mel: int = N_MEL) -> np.ndarray:
    m = np.linspace(0, 2595.0 * np.log10(1.0 + (SR / 2) / 700.0), n_mel + 2)[1:-1]
    return 700.0 * (10 ** (m / 2595.0) - 1.0)


def dct_matrix(n: int = N_MEL, k: int = N_CEP) -> np.ndarray:
    """[n, k] orthonormal DCT-II: cep = logmel @ D."""
    i = np.arange(n)[:, None]
    j = np.arange(k)[None, :]
    d = np.cos(np.pi * (i + 0.5) * j / n) * np.sqrt(2.0 / n)
    d[:, 0] /= np.sqrt(2.0)
    return d.astype(np.float32)


def cep_to_logspec() -> np.ndarray:
    """[N_CEP, SYN_BIN]: cepstrum -> log power on the synthesis DFT bins (via mel interpolation)."""
    d = dct_matrix().astype(np.float64)  # logmel ≈ cep @ d.T
    centres = mel_centres()
    freqs = np.linspace(0, SR / 2, SYN_BIN)
    interp = np.zeros((N_MEL, SYN_BIN))
    for b, f in enumerate(freqs):
        if f <= centres[0]:
            interp[0, b] = 1.0
        elif f >= centres[-1]:
            interp[-1, b] = 1.0
        else:
            i = np.searchsorted(centres, f) - 1
            t = (f - centres[i]) / (centres[i + 1] - centres[i])
            interp[i, b] = 1 - t
            interp[i + 1, b] = t
    return (d.T @ interp).astype(np.float32)


def synthesis_dft() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Forward (cos, -sin) [SYN_WIN, SYN_BIN] and inverse [SYN_BIN, SYN_WIN] real DFT matrices."""
    n = np.arange(SYN_WIN)[:, None]
    k = np.arange(SYN_BIN)[None, :]
    ang = 2 * np.pi * n * k / SYN_WIN
    fc, fs = np.cos(ang), -np.sin(ang)
    wk = np.full(SYN_BIN, 2.0)
    wk[0] = wk[-1] = 1.0
    ic = (wk[:, None] * np.cos(ang.T)) / SYN_WIN
    is_ = (-wk[:, None] * np.sin(ang.T)) / SYN_WIN
    return (
        fc.astype(np.float32),
        fs.astype(np.float32),
        ic.astype(np.float32),
        is_.astype(np.float32),
    )


def sample_interp_matrix() -> np.ndarray:
    """[14, GROUP]: frame values (previous group's last, 12 own, next's first) -> samples."""
    centres = np.arange(-1, FRAMES_PER_GROUP + 1) * HOP + HOP / 2
    t = np.arange(GROUP) + 0.5
    m = np.zeros((FRAMES_PER_GROUP + 2, GROUP))
    for s, ts in enumerate(t):
        i = np.searchsorted(centres, ts) - 1
        a = (ts - centres[i]) / HOP
        m[i, s] = 1 - a
        m[i + 1, s] = a
    return m.astype(np.float32)


def noise_table(seed: int = 1234) -> np.ndarray:
    """Deterministic unit-variance noise, NOISE_SEGMENTS groups long."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(NOISE_SEGMENTS * GROUP).astype(np.float32)


def ola_norm() -> float:
    w = hann(SYN_WIN)
    return float(np.sum((w**2).reshape(-1, HOP), axis=0).mean())
