"""Shared fixtures: test audio made in-process (no downloads)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf


def speechlike(seconds: float, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A deterministic voiced/unvoiced signal with gliding pitch and formant-like peaks."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t) + 20 * np.sin(2 * np.pi * 2.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 25))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t) ** 2
    noise = rng.standard_normal(n) * (np.sin(2 * np.pi * 1.3 * t) > 0.6)
    x = 0.25 * voiced * env + 0.05 * noise
    return (0.6 * x / np.max(np.abs(x))).astype(np.float32)


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.fixture(scope="session")
def speech_16k() -> np.ndarray:
    return speechlike(3.0)
