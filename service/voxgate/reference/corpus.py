"""Deterministic speech corpus synthesised on the machine (espeak-ng, flite, sox).

The benchmark (bench/quality.py) reuses this module for held-out material: text from
``sentences(..., split="test")`` (a sentence belongs to exactly one split, decided by a hash of
its text, so the splits never overlap), spoken by the held-out voices below, which the build
never uses for fitting.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from voxgate.interleave import SAMPLE_RATE

ESPEAK = "/usr/bin/espeak-ng"
FLITE = "/usr/bin/flite"
SOX = "/usr/bin/sox"

#: flite voices used for fitting. ``slt`` is the held-out test voice and is never used here.
FLITE_TRAIN_VOICES = ("kal16", "awb", "rms")
ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m7", "f1", "f2", "f4", "klatt")

#: Held-out voices (never used for fitting): flite ``slt`` and espeak-ng ``en-gb-x-gbclan+f5``.
HELD_OUT_FLITE_VOICE = "slt"
HELD_OUT_ESPEAK_VOICE = "en-gb-x-gbclan"
HELD_OUT_ESPEAK_VARIANT = "f5"

_SUBJECTS = (
    "the old farmer",
    "my sister",
    "a young doctor",
    "the small dog",
    "our teacher",
    "the quiet student",
    "his brother",
    "the busy baker",
    "a tired pilot",
    "the new neighbour",
    "every child",
    "the clever fox",
    "a brave sailor",
    "the river guide",
    "her father",
    "the angry cook",
    "a friendly nurse",
    "the tall driver",
    "my best friend",
    "the captain",
)
_VERBS = (
    "carried",
    "painted",
    "found",
    "opened",
    "washed",
    "bought",
    "forgot",
    "cleaned",
    "watched",
    "repaired",
    "dropped",
    "borrowed",
    "packed",
    "checked",
    "lifted",
    "moved",
    "sold",
    "kept",
    "covered",
    "counted",
)
_OBJECTS = (
    "the heavy box",
    "a yellow boat",
    "seven green apples",
    "the broken window",
    "an old map",
    "the kitchen table",
    "a warm jacket",
    "three silver coins",
    "the garden gate",
    "a long letter",
    "the red bicycle",
    "two paper cups",
    "the wooden chair",
    "a bag of rice",
    "the blue blanket",
    "a fresh loaf of bread",
    "the morning paper",
    "five small stones",
    "the front door key",
    "a bottle of milk",
)
_PLACES = (
    "near the station",
    "before dinner",
    "in the morning",
    "after the storm",
    "at the market",
    "behind the house",
    "on a cold evening",
    "under the bridge",
    "during the game",
    "by the lake",
    "at noon",
    "in the village",
    "next to the school",
    "on the hill",
    "after lunch",
)
_QUESTIONS = (
    "why did {s} leave so early",
    "where did {s} put {o}",
    "how long will {s} wait {p}",
    "did {s} really see {o}",
    "when will {s} bring {o} back",
)
_STATEMENTS = (
    "{s} {v} {o} {p}",
    "{p}, {s} {v} {o}",
    "{s} {v} {o} and then went home",
    "i think {s} {v} {o} {p}",
    "yesterday {s} {v} {o}",
    "{s} never {v} {o} again",
    "{s} quickly {v} {o} {p}",
    "{s} said that nobody {v} {o}",
)
_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _split_of(text: str) -> str:
    """Assign a sentence to a split by a hash of its text (about 15% test)."""
    h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    return "test" if h % 100 < 15 else "train"


def _compose(rng: np.random.Generator) -> str:
    s = _SUBJECTS[rng.integers(len(_SUBJECTS))]
    v = _VERBS[rng.integers(len(_VERBS))]
    o = _OBJECTS[rng.integers(len(_OBJECTS))]
    p = _PLACES[rng.integers(len(_PLACES))]
    kind = rng.integers(10)
    if kind < 7:
        text = _STATEMENTS[rng.integers(len(_STATEMENTS))].format(s=s, v=v, o=o, p=p)
    elif kind < 9:
        text = _QUESTIONS[rng.integers(len(_QUESTIONS))].format(s=s, o=o, p=p) + "?"
    else:
        a, b = rng.integers(len(_NUMBERS), size=2)
        text = f"{s} {v} {_NUMBERS[a]} or {_NUMBERS[b]} times {p}"
    text = text[0].upper() + text[1:]
    return text if text.endswith("?") else text + "."


def sentences(seed: int, n: int, split: str = "train") -> Iterator[str]:
    """Yield ``n`` distinct template sentences of one split ("train" or "test"), deterministic."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    rng = np.random.default_rng([seed, 7919])
    seen: set[str] = set()
    tries = 0
    while len(seen) < n:
        tries += 1
        if tries > 200 * n + 10000:
            raise RuntimeError("template space exhausted")
        text = _compose(rng)
        if text in seen or _split_of(text) != split:
            continue
        seen.add(text)
        yield text


def _to_16k(path: str) -> np.ndarray:
    """Resample a file to 16 kHz mono, normalised to -3 dBFS peak, as float32."""
    out = path + ".16k.wav"
    # -D: no dither, so the corpus (and hence the models) is bit-for-bit reproducible.
    rate = str(SAMPLE_RATE)
    cmd = [SOX, "-D", path, "-r", rate, "-c", "1", "-b", "16", out, "gain", "-n", "-3"]
    subprocess.run(cmd, check=True, capture_output=True)
    wav, sr = sf.read(out, dtype="float32")
    if sr != SAMPLE_RATE:
        raise RuntimeError(f"sox produced {sr} Hz")
    return np.ascontiguousarray(wav.reshape(-1))


def synthesize_flite(text: str, voice: str) -> np.ndarray:
    """Speak ``text`` with flite ``voice``; 16 kHz mono float32."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.wav")
        subprocess.run(
            [FLITE, "-voice", voice, "-t", text, "-o", path], check=True, capture_output=True
        )
        return _to_16k(path)


def synthesize_espeak(
    text: str, voice: str, variant: str | None = None, speed: int = 160, pitch: int = 50
) -> np.ndarray:
    """Speak ``text`` with espeak-ng ``voice+variant`` at ``speed`` wpm and ``pitch`` (0-99).

    ``voice`` may also name the variant itself ("en-gb-x-gbclan+f5") when ``variant`` is None.
    """
    name = f"{voice}+{variant}" if variant else voice
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "e.wav")
        cmd = [ESPEAK, "-v", name, "-s", str(speed), "-p", str(pitch), "-w", path, text]
        subprocess.run(cmd, check=True, capture_output=True)
        return _to_16k(path)


@dataclass(frozen=True)
class Utterance:
    """One synthesised corpus item and how it was made."""

    text: str
    engine: str
    voice: str
    variant: str | None
    speed: int | None
    pitch: int | None

    def synthesize(self) -> np.ndarray:
        if self.engine == "flite":
            return synthesize_flite(self.text, self.voice)
        return synthesize_espeak(
            self.text,
            self.voice,
            self.variant,
            self.speed or 160,
            self.pitch if self.pitch is not None else 50,
        )


def plan(seed: int, n_sentences: int, espeak_per_sentence: int = 2) -> list[Utterance]:
    """Training corpus plan: each sentence by one flite voice and some espeak-ng configurations."""
    rng = np.random.default_rng([seed, 104729])
    items: list[Utterance] = []
    for i, text in enumerate(sentences(seed, n_sentences, "train")):
        voice = FLITE_TRAIN_VOICES[i % len(FLITE_TRAIN_VOICES)]
        items.append(Utterance(text, "flite", voice, None, None, None))
        for _ in range(espeak_per_sentence):
            items.append(
                Utterance(
                    text,
                    "espeak",
                    ESPEAK_VOICES[rng.integers(len(ESPEAK_VOICES))],
                    ESPEAK_VARIANTS[rng.integers(len(ESPEAK_VARIANTS))],
                    int(rng.integers(140, 186)),
                    int(rng.integers(30, 71)),
                )
            )
    return items


def synthesize_all(items: list[Utterance], workers: int = 2) -> list[np.ndarray]:
    """Synthesise a plan in order (threads: the work is in subprocesses)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(Utterance.synthesize, items))
