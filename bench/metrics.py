"""Scoring helpers for the quality benchmark: text normalisation, WER, delay alignment, STOI, PESQ.

Heavy dependencies (jiwer, pystoi, pesq, pocketsphinx) are imported lazily, so this module
imports with numpy alone.
"""

from __future__ import annotations

import re

import numpy as np

SAMPLE_RATE = 16000
MAX_DELAY_S = 0.150

_PUNCT = re.compile(r"[^a-z0-9' ]+")
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lower-case, drop punctuation (keep apostrophes inside words), collapse whitespace."""
    text = _PUNCT.sub(" ", text.lower().replace("-", " "))
    words = [w.strip("'") for w in _SPACES.split(text)]
    return " ".join(w for w in words if w)


def corpus_wer(references: list[str], hypotheses: list[str]) -> float:
    """Word error rate over the whole set (total edits / total reference words), normalised text."""
    import jiwer

    refs = [normalise_text(r) for r in references]
    hyps = [normalise_text(h) for h in hypotheses]
    if not any(refs):
        raise ValueError("references are empty")
    # jiwer rejects empty strings on either side in some versions: count those by hand.
    edits = 0
    words = 0
    pairs_r, pairs_h = [], []
    for r, h in zip(refs, hyps, strict=True):
        n = len(r.split())
        words += n
        if not r or not h:
            edits += max(n, len(h.split()))
        else:
            pairs_r.append(r)
            pairs_h.append(h)
    if pairs_r:
        out = jiwer.process_words(pairs_r, pairs_h)
        edits += out.substitutions + out.deletions + out.insertions
    return edits / words


def estimate_delay(ref: np.ndarray, deg: np.ndarray, max_delay: int) -> int:
    """Lag d (samples, |d| <= max_delay) maximising sum(ref[n] * deg[n + d]): deg lags ref by d."""
    ref = np.asarray(ref, dtype=np.float64)
    deg = np.asarray(deg, dtype=np.float64)
    n = len(ref) + len(deg)
    size = 1 << int(np.ceil(np.log2(max(n, 2))))
    spec = np.fft.rfft(deg, size) * np.conj(np.fft.rfft(ref, size))
    xc = np.fft.irfft(spec, size)  # xc[d] = sum_n ref[n] deg[n + d], negative d wraps
    lags = np.arange(-max_delay, max_delay + 1)
    return int(lags[np.argmax(xc[lags % size])])


def align(ref: np.ndarray, deg: np.ndarray, max_delay_s: float = MAX_DELAY_S) -> tuple:
    """Shift deg by one global delay (±max_delay_s search) and cut/pad it to len(ref).

    Returns (aligned_deg, delay_samples).
    """
    d = estimate_delay(ref, deg, int(round(max_delay_s * SAMPLE_RATE)))
    deg = np.asarray(deg, dtype=np.float32)
    if d >= 0:
        shifted = deg[d:]
    else:
        shifted = np.concatenate([np.zeros(-d, dtype=np.float32), deg])
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
    """pocketsphinx with its bundled en-us model, 16 kHz, one utterance per call."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def __call__(self, wav: np.ndarray) -> str:
        pcm = (np.clip(np.asarray(wav, dtype=np.float64), -1.0, 1.0) * 32767.0).astype("<i2")
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm.tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr if hyp is not None else ""
