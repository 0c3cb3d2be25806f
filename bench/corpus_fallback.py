"""Held-out sentences and synthesis used only when `voxgate.reference.corpus` is unavailable.

Same audio conventions as the reference corpus: 16 kHz mono, `sox ... gain -n -3`.
"""

from __future__ import annotations

import random
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

_SUBJECTS = [
    "the old fisherman",
    "my younger sister",
    "a tired doctor",
    "the village baker",
    "our new neighbour",
    "the careful pilot",
    "a quiet student",
    "the angry farmer",
    "his best friend",
    "the young painter",
    "a famous singer",
    "the night nurse",
]
_VERBS = [
    "carried",
    "painted",
    "found",
    "borrowed",
    "cleaned",
    "sold",
    "opened",
    "forgot",
    "watched",
    "mended",
    "counted",
    "ordered",
]
_OBJECTS = [
    "a heavy wooden box",
    "the green umbrella",
    "seven silver coins",
    "a bright red kite",
    "the broken window",
    "a basket of apples",
    "the morning paper",
    "a long letter",
    "the kitchen table",
    "two warm blankets",
    "an empty bottle",
    "the garden gate",
]
_TAILS = [
    "before the rain started",
    "near the small harbour",
    "after a long day at work",
    "on the way to the market",
    "without saying a word",
    "late on friday evening",
    "behind the old church",
    "while the children slept",
    "at the edge of the forest",
    "in the middle of winter",
    "just after sunrise",
    "with great care",
]


def sentences(seed: int, n: int) -> list[str]:
    """n distinct template sentences drawn with `seed`."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        s = " ".join(rng.choice(p) for p in (_SUBJECTS, _VERBS, _OBJECTS, _TAILS))
        s = s[0].upper() + s[1:] + "."
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def _normalise(src: Path, dst: Path) -> np.ndarray:
    subprocess.run(
        ["sox", str(src), "-r", "16000", "-c", "1", "-b", "16", str(dst), "gain", "-n", "-3"],
        check=True,
        capture_output=True,
    )
    wav, _ = sf.read(dst, dtype="float32")
    return wav


def synthesize_flite(text: str, voice: str = "slt") -> np.ndarray:
    """flite voice → 16 kHz float32 mono."""
    with tempfile.TemporaryDirectory(prefix="flite") as tmp:
        t = Path(tmp)
        subprocess.run(
            ["flite", "-voice", voice, "-t", text, "-o", str(t / "a.wav")],
            check=True,
            capture_output=True,
        )
        return _normalise(t / "a.wav", t / "b.wav")


def synthesize_espeak(text: str, voice: str = "en-gb-x-gbclan+f5", speed: int = 160) -> np.ndarray:
    """espeak-ng voice → 16 kHz float32 mono."""
    with tempfile.TemporaryDirectory(prefix="espeak") as tmp:
        t = Path(tmp)
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(t / "a.wav"), text],
            check=True,
            capture_output=True,
        )
        return _normalise(t / "a.wav", t / "b.wav")
