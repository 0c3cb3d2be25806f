"""Voices: speaker features of a prompt recording, and the registry of cloned voices (SQLite).

A registered voice keeps the prompt's audio tokens and speaker features, and the prompt audio
itself only when asked, so a client clones once and then names the voice by id.
"""

from __future__ import annotations

import json
import math
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
from voxgate.reference import dsp as reference_dsp
from voxgate.reference import speaker as reference_speaker

_VOWEL_GROUPS = re.compile(r"[aeiouy]+", re.IGNORECASE)


CEPSTRUM_SIZE = reference_dsp.N_CEP  # c0..c23 of the reference codec's features
SPEAKER_SHIFT_SIZE = reference_speaker.SHIFT_SIZE  # [Δc0..Δc23, Δlog F0]
# One F0 level of the reference tokenizer's linguistic tokens, in semitones: the step in which
# the tts_generator moves pitch (`pitch_steps` in triton_models/tts_generator/1/model.py, which
# the service does not import; the same formula on the same constants).
F0_LEVEL_SEMITONES = (
    12.0 * math.log2(reference_dsp.F0_MAX / reference_dsp.F0_MIN) / (reference_dsp.N_F0 - 1)
)


@dataclass(frozen=True)
class SpeakerFeatures:
    """What the reference engine matches when it clones: pitch, loudness, rate and envelope."""

    pitch_median_hz: float  # 0 when no voiced frame was found
    pitch_range_semitones: float  # 10th to 90th percentile
    loudness_dbfs: float  # RMS of the voiced part
    speaking_rate: float  # syllables per second of speech (transcript syllables / voiced time)
    duration_s: float
    # Spectral envelope: mean cepstrum c0..c23 over voiced frames in the reference codec's
    # feature space (`voxgate.reference.speaker.envelope`); empty when unknown (e.g. voices
    # registered before it was measured).
    cepstrum: tuple[float, ...] = ()


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
        cepstrum=spectral_envelope(wav),
    )


def spectral_envelope(wav16k: np.ndarray) -> tuple[float, ...]:
    """Mean cepstrum c0..c23 over the voiced frames of a 16 kHz recording, measured by the
    reference codec's own analysis (so that differences are shifts in the decoder's feature
    space); () when the codec finds too few voiced frames."""
    env = reference_speaker.envelope(wav16k)
    return () if env is None else tuple(round(float(c), 4) for c in env.cepstrum)


def speaker_shift(
    prompt: SpeakerFeatures, base: SpeakerFeatures, pitch_semitones: float
) -> np.ndarray | None:
    """The speaker_adapter's shift [Δc0..Δc23, Δlog F0] that makes `base` speak like `prompt`.

    Δc = prompt envelope - base envelope for c1..c23; Δc0 = 0, because c0 is the frames' level,
    not timbre (loudness stays the built-in voice's, under the style's volume). Δlog F0 is what
    the generator's whole F0 levels cannot express of `pitch_semitones` (the shift requested
    from it): `pitch_semitones - round(pitch_semitones / 1.163) * 1.163` semitones, in nats.
    None when there is nothing to shift (no known envelope difference, no pitch residual).
    """
    shift = np.zeros(SPEAKER_SHIFT_SIZE, np.float32)
    steps = round(float(pitch_semitones) / F0_LEVEL_SEMITONES)
    residual = float(pitch_semitones) - steps * F0_LEVEL_SEMITONES
    shift[CEPSTRUM_SIZE] = residual * math.log(2.0) / 12.0
    if len(prompt.cepstrum) == CEPSTRUM_SIZE and len(base.cepstrum) == CEPSTRUM_SIZE:
        delta = np.asarray(prompt.cepstrum, np.float64) - np.asarray(base.cepstrum, np.float64)
        shift[1:CEPSTRUM_SIZE] = delta[1:]
    if not shift.any():
        return None
    return shift


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
    audio BLOB,
    cepstrum TEXT
)
"""
# Columns added after the first schema: (name, SQL type). Databases made before get them by
# ALTER TABLE when opened; their old rows read NULL (an unknown envelope).
_ADDED_COLUMNS = (("cepstrum", "TEXT"),)  # JSON list of the 24 cepstra, NULL when unknown
_COLUMNS = (
    "id, name, transcript, consent_note, created_unix, pitch_median_hz, pitch_range_semitones,"
    " loudness_dbfs, speaking_rate, duration_s, tokens, audio, cepstrum"
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
        self._migrate()

    def _migrate(self) -> None:
        """Adds the columns a database from an older voxgate lacks (existing rows keep NULL)."""
        for column, sql_type in _ADDED_COLUMNS:
            have = {row[1] for row in self._db.execute("PRAGMA table_info(voices)")}
            if column in have:
                continue
            try:
                self._db.execute(f"ALTER TABLE voices ADD COLUMN {column} {sql_type}")
            except sqlite3.OperationalError as err:  # another process added it meanwhile
                if "duplicate column" not in str(err):
                    raise

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
            json.dumps(list(f.cepstrum)) if f.cepstrum else None,
        )
        with self._lock:
            self._db.execute(f"INSERT INTO voices ({_COLUMNS}) VALUES ({', '.join('?' * 13)})", row)
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
    vid, name, transcript, consent, created, *numbers, tokens, audio, cep = row
    cepstrum = tuple(float(c) for c in json.loads(cep)) if cep else ()
    return Voice(
        id=vid,
        name=name,
        builtin=False,
        features=SpeakerFeatures(*numbers, cepstrum=cepstrum),
        transcript=transcript,
        consent_note=consent,
        created_unix=created,
        tokens=np.frombuffer(tokens, "<i2").astype(np.int64),
        audio=audio,
    )
