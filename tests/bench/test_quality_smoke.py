"""Smoke test of the quality benchmark's helpers (bench/metrics.py) on synthetic inputs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("jiwer")
pytest.importorskip("pystoi")
pytest.importorskip("pesq")

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"voxgate_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


metrics = _load("metrics")


def _speechlike(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Amplitude-modulated harmonic tone with a gliding pitch plus noise bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    envelope = np.clip(np.sin(2 * np.pi * 2.3 * t), 0, None) ** 2
    noise = rng.standard_normal(len(t)) * (np.sin(2 * np.pi * 1.1 * t) > 0.8)
    x = envelope * voiced + 0.3 * noise
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def _delayed(x: np.ndarray, d: int) -> np.ndarray:
    if d >= 0:
        return np.concatenate([np.zeros(d, np.float32), x])
    return x[-d:]


@pytest.mark.parametrize("delay", [0, 37, 413, -250, 2400, -2400])
def test_align_recovers_known_delay(delay: int) -> None:
    x = _speechlike()
    aligned, d = metrics.align(x, _delayed(x, delay))
    assert d == delay
    assert len(aligned) == len(x)
    assert np.allclose(aligned[2400:-2400], x[2400:-2400])


def test_align_recovers_delay_of_phase_scrambled_copy() -> None:
    """A vocoder keeps the envelope, not the phase: spectral alignment must still find the lag."""
    x = _speechlike(seed=1)
    rng = np.random.default_rng(3)
    win, hop = 512, 128
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (0, win)), win)[::hop]
    spec = np.fft.rfft(frames * np.hanning(win), axis=1)
    spec = np.abs(spec) * np.exp(2j * np.pi * rng.random(spec.shape))
    y = np.zeros(len(frames) * hop + win)
    for i, f in enumerate(np.fft.irfft(spec, win, axis=1)):
        y[i * hop : i * hop + win] += f * np.hanning(win)
    _, d = metrics.align(x, _delayed(y[: len(x)].astype(np.float32), 300))
    assert abs(d - 300) <= 16


def test_wer_of_identical_transcripts_is_zero() -> None:
    refs = ["The old farmer carried the heavy box.", "Why did my sister leave so early?"]
    assert metrics.corpus_wer(refs, ["the old farmer carried the heavy box", refs[1]]) == 0.0


def test_wer_counts_edits_over_whole_set() -> None:
    refs = ["one two three four", "five six"]
    hyps = ["one two four", "five six seven"]  # one deletion, one insertion
    edits, words = metrics.wer_counts(refs, hyps)
    assert edits.tolist() == [1, 1] and words.tolist() == [4, 2]
    assert metrics.corpus_wer(refs, hyps) == pytest.approx(2 / 6)
    assert metrics.corpus_wer(["a b"], [""]) == 1.0


def test_normalise_text() -> None:
    assert metrics.normalise_text("  Don't STOP -- the car, now!? ") == "don't stop the car now"


def test_stoi_and_pesq_of_identical_signals() -> None:
    x = _speechlike(seconds=3.0)
    assert metrics.stoi_score(x, x) > 0.99
    assert metrics.pesq_wb(x, x) > 4.0
