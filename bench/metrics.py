"""Scoring helpers for the quality benchmark: text normalisation, WER, delay alignment, STOI, PESQ.

Heavy dependencies (jiwer, pystoi, pesq, pocketsphinx) are imported lazily, so this module
imports with numpy (and voxgate, for the sample rate) alone.
"""

from __future__ import annotations

import re

import numpy as np
from voxgate.interleave import SAMPLE_RATE

MAX_DELAY_S = 0.150

_PUNCT = re.compile(r"[^a-z0-9' ]+")
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lower-case, drop punctuation (keep apostrophes inside words), collapse whitespace."""
    text = _PUNCT.sub(" ", text.lower().replace("-", " "))
    words = [w.strip("'") for w in _SPACES.split(text)]
    return " ".join(w for w in words if w)


def wer_counts(references: list[str], hypotheses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-utterance (word edits, reference words) after normalisation."""
    import jiwer

    edits, words = [], []
    for ref, hyp in zip(references, hypotheses, strict=True):
        r, h = normalise_text(ref), normalise_text(hyp)
        n = len(r.split())
        if not r or not h:  # jiwer rejects empty strings
            e = max(n, len(h.split()))
        else:
            o = jiwer.process_words(r, h)
            e = o.substitutions + o.deletions + o.insertions
        edits.append(e)
        words.append(n)
    return np.asarray(edits, dtype=np.int64), np.asarray(words, dtype=np.int64)


def corpus_wer(references: list[str], hypotheses: list[str]) -> float:
    """Word error rate over the whole set: total edits / total reference words."""
    edits, words = wer_counts(references, hypotheses)
    if words.sum() == 0:
        raise ValueError("references are empty")
    return float(edits.sum() / words.sum())


def wer_stderr(edits: np.ndarray, words: np.ndarray, n_boot: int = 2000, seed: int = 0) -> float:
    """Standard error of the corpus WER by bootstrap over sentences."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(edits), size=(n_boot, len(edits)))
    return float(np.std(edits[idx].sum(1) / np.maximum(words[idx].sum(1), 1)))


def _spectral_envelope(x: np.ndarray, hop: int, win: int) -> np.ndarray:
    """Cube-root magnitude spectrogram [frames, bins], each bin mean-removed."""
    x = np.concatenate([np.asarray(x, dtype=np.float64), np.zeros(win)])
    n = (len(x) - win) // hop + 1
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n] * np.hanning(win)
    mag = np.abs(np.fft.rfft(frames, axis=1)) ** (1.0 / 3.0)
    return mag - mag.mean(axis=0, keepdims=True)


def estimate_delay(
    ref: np.ndarray, deg: np.ndarray, max_delay: int, hop: int = 8, win: int = 256
) -> int:
    """Lag d (samples, |d| <= max_delay, multiple of hop) by which deg lags ref.

    Cross-correlates compressed magnitude spectrograms, summed over frequency bins, so it also
    works for vocoders and parametric codecs whose waveform phase is unrelated to the input's.
    """
    a = _spectral_envelope(ref, hop, win)
    b = _spectral_envelope(deg, hop, win)
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    spec = np.fft.rfft(b, size, axis=0) * np.conj(np.fft.rfft(a, size, axis=0))
    xc = np.fft.irfft(spec.sum(axis=1), size)  # xc[k] = sum_t,f a[t,f] b[t+k,f]; wraps below 0
    lags = np.arange(-(max_delay // hop), max_delay // hop + 1)
    coarse = int(lags[np.argmax(xc[lags % size])] * hop)
    # Refine to the sample by waveform correlation within one hop (moot for phase-free codecs).
    fine = np.arange(max(coarse - hop, -max_delay), min(coarse + hop, max_delay) + 1)
    r = np.asarray(ref, dtype=np.float64)
    g = np.asarray(deg, dtype=np.float64)
    scores = []
    for d in fine:
        m = min(len(r), len(g) - d) if d >= 0 else min(len(r) + d, len(g))
        scores.append(r[:m] @ g[d : d + m] if d >= 0 else r[-d : -d + m] @ g[:m])
    return int(fine[int(np.argmax(scores))])


def align(ref: np.ndarray, deg: np.ndarray, max_delay_s: float = MAX_DELAY_S) -> tuple:
    """Shift deg by one global delay (±max_delay_s search) and cut/pad it to len(ref).

    Returns (aligned_deg, delay_samples).
    """
    d = estimate_delay(ref, deg, round(max_delay_s * SAMPLE_RATE))
    deg = np.asarray(deg, dtype=np.float32)
    shifted = deg[d:] if d >= 0 else np.concatenate([np.zeros(-d, dtype=np.float32), deg])
    out = np.zeros(len(ref), dtype=np.float32)
    m = min(len(ref), len(shifted))
    out[:m] = shifted[:m]
    return out, d


def stoi_score(ref: np.ndarray, aligned_deg: np.ndarray) -> float:
    """STOI (pystoi, 16 kHz) of an already aligned, equal-length signal."""
    from pystoi import stoi

    return float(stoi(ref, aligned_deg, SAMPLE_RATE))


def pesq_wb(ref: np.ndarray, deg: np.ndarray) -> float:
    """PESQ wide-band MOS-LQO; NaN where PESQ finds no utterance."""
    from pesq import pesq

    try:
        return float(pesq(SAMPLE_RATE, ref, deg, "wb"))
    except Exception:  # pesq raises its own NoUtterancesError / BufferTooShortError
        return float("nan")


class Recogniser:
    """pocketsphinx with its bundled en-us model, 16 kHz, one utterance per call.

    A fresh decoder per utterance: a reused one carries its cepstral-mean estimate over from the
    previous utterance, which makes transcripts depend on the order of the sentences.
    """

    def __call__(self, wav: np.ndarray) -> str:
        from pocketsphinx import Decoder

        pcm = (np.clip(np.asarray(wav, dtype=np.float64), -1.0, 1.0) * 32767.0).astype("<i2")
        d = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        d.start_utt()
        d.process_raw(pcm.tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr if hyp is not None else ""


_RECOGNISER: Recogniser | None = None


def score_pair(ref: np.ndarray, deg: np.ndarray, with_asr: bool) -> dict:
    """Align deg to ref; STOI, PESQ-WB, delay and (optionally) the ASR transcript of deg.

    Self-contained so it can run in a worker process (one recogniser per process).
    """
    global _RECOGNISER
    aligned, delay = align(ref, deg)
    out = {
        "delay_ms": 1000.0 * delay / SAMPLE_RATE,
        "stoi": stoi_score(ref, aligned),
        "pesq": pesq_wb(ref, aligned),
    }
    if with_asr:
        if _RECOGNISER is None:
            _RECOGNISER = Recogniser()
        out["hyp"] = _RECOGNISER(deg)
    return out
