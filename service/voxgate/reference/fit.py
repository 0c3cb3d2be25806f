"""Fit the tokenizer constants (training mean, VQ codebook) on a synthesised corpus."""

from __future__ import annotations

import numpy as np

from voxgate.interleave import SEMANTIC_CODES

from . import dsp, encoder
from .encoder import NC, SEM_DIM, SQRT_MEL, EncoderParams

SHAPE_WEIGHT = 1.0
GAIN_WEIGHT = 1.0
AP_WEIGHT = 2.0
PRIOR_WEIGHT = 4.0
WARPS = (1.0, 0.88, 1.12, 1.25)


def vq_weights() -> np.ndarray:
    return np.concatenate(
        [np.full(2 * NC, SHAPE_WEIGHT), np.full(2, GAIN_WEIGHT), np.full(2, AP_WEIGHT)]
    ).astype(np.float32)


def _frames(wav: np.ndarray, w_: int) -> np.ndarray:
    pad = dsp.SUB * w_ + dsp.NFFT
    x = np.pad(wav.astype(np.float32), (pad, pad))
    n_sem = len(wav) // dsp.SEM_HOP
    return x[encoder.frame_index(2 * n_sem + 2 * w_)][None]


def fit(
    wavs: list[np.ndarray],
    context_groups: int,
    seed: int,
    n_codes: int = SEMANTIC_CODES,
    warps: tuple[float, ...] = WARPS,
    log=print,
    analyses: list | None = None,
) -> EncoderParams:
    """Analyse the corpus (with frequency-warp copies) and fit the semantic codebook.

    ``analyses``, when given, receives each utterance's list of analyses (one per warp), for
    the refiner's training data.
    """
    from sklearn.cluster import MiniBatchKMeans

    w_ = encoder.half_window_for(context_groups)
    analyses = [] if analyses is None else analyses
    for wav in wavs:
        fr = _frames(wav, w_)
        analyses.append([encoder.analyse(fr, warp) for warp in warps])
    # Training mean of the envelope shape over speech sub-frames (un-warped data only).
    num = np.zeros(NC)
    den = 0.0
    for per in analyses:
        cep = per[0]["cep"][0]
        wt = encoder.speech_weight(cep[:, 0])
        num += (cep[:, 1:] * wt[:, None]).sum(0)
        den += wt.sum()
    mu = (num / max(den, 1e-6)).astype(np.float32)
    weights = vq_weights()
    prm = EncoderParams(
        context_groups,
        w_,
        PRIOR_WEIGHT,
        mu,
        weights,
        np.zeros((n_codes, SEM_DIM), np.float32),
        np.zeros((n_codes, 2 * dsp.N_CEP + 2), np.float32),
    )
    vecs = []
    for per in analyses:
        for an in per:
            v = encoder.semantic_vectors(an, prm)[0]
            # Keep silence sparse: it needs few codes.
            g = v[:, 2 * NC : 2 * NC + 2].max(-1)
            keep = g > dsp.SILENCE_LOGPOW - 2.0
            vecs.append(v[keep])
            vecs.append(v[~keep][::8])
    x = np.concatenate(vecs) * weights
    log(f"fit: {len(x)} vectors, {SEM_DIM} dims, {n_codes} codes, W={w_}")
    km = MiniBatchKMeans(
        n_clusters=n_codes,
        random_state=seed,
        batch_size=8192,
        n_init=1,
        max_iter=30,
        max_no_improvement=5,
        reassignment_ratio=0.01,
        init="random",
    )
    km.fit(x)
    cb = km.cluster_centers_.astype(np.float32)
    prm.codebook = cb
    prm.dec_table = decode_table(cb / weights, mu)
    return prm


def decode_table(c: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Natural-unit rows [cep_a(24), cep_b(24), ap_a, ap_b] from unweighted centroids."""
    n = len(c)
    out = np.zeros((n, 2 * dsp.N_CEP + 2), np.float32)
    for s in range(2):
        out[:, s * dsp.N_CEP] = c[:, 2 * NC + s] * SQRT_MEL
        out[:, s * dsp.N_CEP + 1 : (s + 1) * dsp.N_CEP] = c[:, s * NC : (s + 1) * NC] + mu
    out[:, 2 * dsp.N_CEP :] = c[:, 2 * NC + 2 :]
    return out


def refiner_sequences(
    wavs: list[np.ndarray], analyses: list, prm: EncoderParams
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Training data of the learned decoder stage: per utterance and warp, the tokens the
    tokenizers give (whole groups) and the rows they should decode to.

    The target rows are the analysed gains (c0) and aperiodicities, and the envelope shape
    c1..c23 *as the tokens carry it*: minus its bounded local mean, plus the training mean
    (`encoder.normalise` + mu), the codebook's own domain. The refiner so undoes quantisation
    but does not guess a speaker's long-term envelope from the tokens (which only
    `speaker_adapter` supplies); a refiner trained on the raw envelopes did guess it, and
    pocketsphinx's WER on the held-out flite voice got worse by 8 points.
    """
    from .refiner import targets

    w_ = prm.norm_half_window
    out = []
    for wav, per in zip(wavs, analyses, strict=True):
        n_g = len(wav) // dsp.GROUP
        if n_g < 2:
            continue
        n_sem = 3 * n_g
        for an in per:
            sem = encoder.vq(encoder.semantic_vectors(an, prm), prm)[:, :n_sem]
            ling = encoder.linguistic_from(an, sem, 2 * n_g, prm)
            y = targets(an, w_, n_sem)
            shape = encoder.normalise(an["cep"], prm)[0, : 2 * n_sem] + prm.mu
            y[:, 1 : dsp.N_CEP] = shape[0::2]
            y[:, dsp.N_CEP + 1 : 2 * dsp.N_CEP] = shape[1::2]
            out.append((ling[0], sem[0], y))
    return out
