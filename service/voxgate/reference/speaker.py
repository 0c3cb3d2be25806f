"""Speaker conditioning in the reference decoder's feature space.

``envelope`` measures a recording with the tokenizers' own sub-frame analysis
(`encoder.analyse`: pitch-adaptive smoothed spectrum -> 40 mel bands -> 24 cepstra, and the
autocorrelation F0): the mean cepstrum c0..c23 over voiced frames and the median log F0. The
decoder's acoustic features carry the same cepstra, so the difference of two speakers' means is
a shift that the `speaker_adapter` model adds to the features (`shift_features` is its numpy
reference).

Speaker shift, 25 values: ``[Δc0..Δc23, Δlog F0]`` (cepstra in the features' natural units,
log F0 in nats). The adapter adds Δc to the cepstra of every frame and Δlog F0 to the log F0 of
every frame, clipped to `LOG_F0_RANGE`; the other columns pass through unchanged. Only voiced
frames use their F0 (the vocoder's voiced weight is 0 elsewhere), so shifting every frame's F0
is the same as shifting the voiced ones, and keeps the graph pointwise (chunked decoding still
equals whole decoding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dsp, encoder

SHIFT_SIZE = dsp.N_CEP + 1  # [Δc0..Δc23, Δlog F0]
S_CEP = slice(0, dsp.N_CEP)
S_LF0 = dsp.N_CEP
# The shifted log F0 is kept in [30, 900] Hz: an octave beyond the codec's 60-450 Hz levels, and
# far below 7800 Hz, where the vocoder's pulse train would have no harmonic left.
LOG_F0_RANGE = (float(np.log(dsp.F0_MIN / 2)), float(np.log(dsp.F0_MAX * 2)))
MIN_VOICED_FRAMES = 5
_BLOCK = 512  # frames analysed at once (bounds memory on long recordings)


@dataclass(frozen=True)
class Envelope:
    """A recording's long-term spectral envelope and pitch, in the codec's feature space."""

    cepstrum: np.ndarray  # [N_CEP] mean c0..c23 over voiced frames (float64)
    log_f0: float  # median log F0 (Hz) over voiced frames, the codec's own estimate
    voiced_frames: int


def _frames(wav: np.ndarray) -> np.ndarray:
    """[J, NFFT] analysis frames centred every SUB samples (20 ms), zeros beyond the ends."""
    x = np.pad(np.asarray(wav, np.float32).reshape(-1), (dsp.NFFT // 2, dsp.NFFT // 2))
    n = len(wav) // dsp.SUB + 1
    idx = np.arange(n)[:, None] * dsp.SUB + np.arange(dsp.NFFT)[None, :]
    return x[idx]


def envelope(wav16k: np.ndarray) -> Envelope | None:
    """Mean cepstrum and median log F0 over the voiced frames of a 16 kHz mono recording.

    Voiced frames are the ones the tokenizers call voiced (harmonicity above the voicing
    threshold and above the silence level). None when fewer than `MIN_VOICED_FRAMES` are.
    """
    wav = np.asarray(wav16k, np.float32).reshape(-1)
    if len(wav) == 0:
        return None
    frames = _frames(wav)
    ceps, f0s = [], []
    for a in range(0, len(frames), _BLOCK):
        an = encoder.analyse(frames[None, a : a + _BLOCK])
        voiced = an["voiced"][0]
        ceps.append(an["cep"][0][voiced])
        f0s.append(an["f0"][0][voiced])
    cep = np.concatenate(ceps)
    if len(cep) < MIN_VOICED_FRAMES:
        return None
    return Envelope(
        cepstrum=cep.astype(np.float64).mean(0),
        log_f0=float(np.median(np.log(np.concatenate(f0s).astype(np.float64)))),
        voiced_frames=len(cep),
    )


def shift_features(features: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Numpy reference of the `speaker_adapter` graph: [B, T, N_FEAT], [B, 25] -> [B, T, N_FEAT]."""
    feat = np.asarray(features, np.float32)
    s = np.asarray(shift, np.float32)[:, None, :]
    cep = feat[..., S_CEP] + s[..., S_CEP]
    lo, hi = (np.float32(v) for v in LOG_F0_RANGE)
    lf0 = np.clip(feat[..., S_LF0 : S_LF0 + 1] + s[..., S_LF0 : S_LF0 + 1], lo, hi)
    return np.concatenate([cep, lf0, feat[..., S_LF0 + 1 :]], -1).astype(np.float32)
