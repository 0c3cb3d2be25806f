"""Quality-benchmark baselines: Codec2 (Debian's c2enc/c2dec) and an 8 kHz band limit."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from voxgate.interleave import SAMPLE_RATE

CODEC2_MODES = {"700C": 700.0, "1300": 1300.0, "3200": 3200.0}


def have_codec2() -> bool:
    """True when sox, c2enc and c2dec are on PATH."""
    return all(shutil.which(t) for t in ("sox", "c2enc", "c2dec"))


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def codec2_roundtrip(wav16k: np.ndarray, mode: str) -> tuple[np.ndarray, int]:
    """16 kHz float audio → sox 8 kHz raw → c2enc MODE → c2dec MODE → sox 16 kHz.

    Returns (decoded float32 audio at 16 kHz, size of the bit file in bytes).
    """
    with tempfile.TemporaryDirectory(prefix="c2bench") as tmp:
        t = Path(tmp)
        sf.write(t / "in.wav", np.asarray(wav16k, dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
        raw = ["-t", "raw", "-e", "signed", "-b", "16", "-c", "1"]
        _run(["sox", str(t / "in.wav"), "-r", "8000", *raw, str(t / "a.raw")])
        _run(["c2enc", mode, str(t / "a.raw"), str(t / "a.bit")])
        _run(["c2dec", mode, str(t / "a.bit"), str(t / "b.raw")])
        rate = str(SAMPLE_RATE)
        _run(["sox", "-r", "8000", *raw, str(t / "b.raw"), "-r", rate, str(t / "out.wav")])
        out, sr = sf.read(t / "out.wav", dtype="float32")
        assert sr == SAMPLE_RATE
        return out, (t / "a.bit").stat().st_size


def bandlimit_8k(wav16k: np.ndarray) -> np.ndarray:
    """Resample 16 → 8 → 16 kHz with sox (the band Codec2 sees), 16-bit as Codec2 gets it."""
    with tempfile.TemporaryDirectory(prefix="bl8k") as tmp:
        t = Path(tmp)
        sf.write(t / "in.wav", np.asarray(wav16k, dtype=np.float32), SAMPLE_RATE, subtype="PCM_16")
        _run(["sox", str(t / "in.wav"), "-r", "8000", str(t / "a.wav")])
        _run(["sox", str(t / "a.wav"), "-r", str(SAMPLE_RATE), str(t / "out.wav")])
        out, _ = sf.read(t / "out.wav", dtype="float32")
        return out
