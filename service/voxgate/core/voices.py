"""Voices: speaker features of a prompt recording, and the registry of cloned voices (SQLite).

A registered voice keeps the prompt's audio tokens and speaker features, and the prompt audio
itself only when asked, so a client clones once and then names the voice by id.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import parselmouth

from voxgate.errors import FailedPrecondition, InvalidArgument, NotFound
from voxgate.interleave import SAMPLE_RATE

_VOWEL_GROUPS = re.compile(r"[aeiouy]+", re.IGNORECASE)


@dataclass(frozen=True)
class SpeakerFeatures:
    """What the reference engine matches when it clones: pitch, loudness and rate."""

    pitch_median_hz: float  # 0 when no voiced frame was found
    pitch_range_semitones: float  # 10th to 90th percentile
    loudness_dbfs: float  # RMS of the voiced part
    speaking_rate: float  # syllables per second of speech (transcript syllables / voiced time)
    duration_s: float


def syllables(text: str) -> int:
    """A rough English syllable count: vowel groups per word, less a silent final e."""
    total = 0
    for word in re.findall(r"[a-z]+", text.lower()):
        groups = len(_VOWEL_GROUPS.findall(word))
        if word.endswith("e") and not word.endswith(("le", "ee")) and groups > 1:
            groups -= 1
        total += max(1, groups)
    return total


def speaker_features(wav16k: np.ndarray, transcript: str) -> SpeakerFeatures:
    """Pitch by Praat (parselmouth), loudness and speaking rate of a 16 kHz mono prompt."""
    wav = np.asarray(wav16k, np.float64)
    duration = len(wav) / SAMPLE_RATE
    if duration < 0.5:
        raise InvalidArgument(f"prompt.audio: {duration:.2f} s is too short to clone (min 0.5 s)")
    pitch = parselmouth.Sound(wav, SAMPLE_RATE).to_pitch(pitch_floor=60.0, pitch_ceiling=500.0)
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    if len(voiced) < 5:
        raise InvalidArgument("prompt.audio: no voiced speech found to clone")
    p10, p50, p90 = np.percentile(voiced, [10, 50, 90])
    # Speech time: frames within 35 dB of the loudest 50 ms.
    frame = SAMPLE_RATE // 20
    n = len(wav) // frame
    rms = np.sqrt(np.mean(wav[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    active = rms > rms.max() * 10 ** (-35 / 20)
    speech_s = max(active.sum() * frame / SAMPLE_RATE, 0.1)
    loud = 20 * np.log10(np.sqrt(np.mean(wav[: n * frame].reshape(n, frame)[active] ** 2)))
    return SpeakerFeatures(
        pitch_median_hz=float(p50),
        pitch_range_semitones=float(12 * np.log2(p90 / p10)),
        loudness_dbfs=float(loud),
        speaking_rate=float(syllables(transcript) / speech_s),
        duration_s=float(duration),
    )


@dataclass(frozen=True)
class Voice:
    """A voice synthesis can use: built-in (a name) or registered (an id)."""

    id: str
    name: str
    builtin: bool
    features: SpeakerFeatures | None = None
    transcript: str = ""
    consent_note: str = ""
    created_unix: int = 0
    tokens: np.ndarray | None = None  # interleaved ids of the prompt
    audio: bytes | None = None  # the prompt as 16 kHz float32, when kept


_SCHEMA = """
CREATE TABLE IF NOT EXISTS voices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    transcript TEXT NOT NULL,
    consent_note TEXT NOT NULL,
    created_unix INTEGER NOT NULL,
    pitch_median_hz REAL NOT NULL,
    pitch_range_semitones REAL NOT NULL,
    loudness_dbfs REAL NOT NULL,
    speaking_rate REAL NOT NULL,
    duration_s REAL NOT NULL,
    tokens BLOB NOT NULL,
    audio BLOB
)
"""
_COLUMNS = (
    "id, name, transcript, consent_note, created_unix, pitch_median_hz, pitch_range_semitones,"
    " loudness_dbfs, speaking_rate, duration_s, tokens, audio"
)


class VoiceRegistry:
    """Built-in voices plus registered ones persisted in one SQLite file (survives restarts).

    Calls are short and serialised by a lock; async callers run them in a thread.
    """

    def __init__(self, path: Path, builtins: tuple[Voice, ...]) -> None:
        self.path = path
        self.builtins = {v.id: v for v in builtins}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(
        self,
        name: str,
        transcript: str,
        consent_note: str,
        tokens: np.ndarray,
        features: SpeakerFeatures,
        audio: bytes | None,
    ) -> Voice:
        if not name.strip():
            raise InvalidArgument("name: required")
        voice = Voice(
            id="v-" + uuid.uuid4().hex[:16],
            name=name.strip(),
            builtin=False,
            features=features,
            transcript=transcript,
            consent_note=consent_note,
            created_unix=int(time.time()),
            tokens=np.asarray(tokens, np.int64),
            audio=audio,
        )
        f = features
        row = (
            voice.id,
            voice.name,
            transcript,
            consent_note,
            voice.created_unix,
            f.pitch_median_hz,
            f.pitch_range_semitones,
            f.loudness_dbfs,
            f.speaking_rate,
            f.duration_s,
            voice.tokens.astype("<i2").tobytes(),
            audio,
        )
        with self._lock:
            self._db.execute(f"INSERT INTO voices ({_COLUMNS}) VALUES ({', '.join('?' * 12)})", row)
        return voice

    def get(self, voice_id: str) -> Voice:
        if voice_id in self.builtins:
            return self.builtins[voice_id]
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM voices WHERE id = ?", (voice_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"voice: no voice {voice_id!r} (ListVoices lists them)")
        return _voice(row)

    def list(self) -> list[Voice]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM voices ORDER BY created_unix, id"
            ).fetchall()
        return [*self.builtins.values(), *(_voice(r) for r in rows)]

    def delete(self, voice_id: str) -> None:
        if voice_id in self.builtins:
            raise FailedPrecondition(f"voice_id: {voice_id!r} is built in and cannot be deleted")
        with self._lock:
            deleted = self._db.execute("DELETE FROM voices WHERE id = ?", (voice_id,)).rowcount
        if not deleted:
            raise NotFound(f"voice_id: no voice {voice_id!r}")


def _voice(row: tuple) -> Voice:
    (vid, name, transcript, consent, created, p50, prange, loud, rate, dur, tokens, audio) = row
    return Voice(
        id=vid,
        name=name,
        builtin=False,
        features=SpeakerFeatures(p50, prange, loud, rate, dur),
        transcript=transcript,
        consent_note=consent,
        created_unix=created,
        tokens=np.frombuffer(tokens, "<i2").astype(np.int64),
        audio=audio,
    )
