"""Speaker features of a prompt, and the SQLite voice registry across restarts."""

from __future__ import annotations

import numpy as np
import pytest
from voxgate.core.voices import SpeakerFeatures, Voice, VoiceRegistry, speaker_features, syllables
from voxgate.errors import FailedPrecondition, InvalidArgument, NotFound

from tests.conftest import speechlike

BUILTIN = (Voice("joe", "Joe", True),)
FEATURES = SpeakerFeatures(120.0, 6.0, -20.0, 4.0, 3.0)


def test_speaker_features_follow_the_pitch():
    low = speaker_features(speechlike(3.0, seed=1), "one two three four five six")
    t = np.arange(48000) / 16000
    tone = 0.3 * np.sign(np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    high = speaker_features(tone, "la la la")
    assert 100 < low.pitch_median_hz < 180  # speechlike glides around 120 Hz
    assert 210 < high.pitch_median_hz < 230
    assert low.duration_s == pytest.approx(3.0)
    assert low.speaking_rate > 0 and low.loudness_dbfs < 0


def test_silence_or_too_short_is_refused():
    with pytest.raises(InvalidArgument, match="no voiced speech"):
        speaker_features(np.zeros(32000, np.float32), "nothing")
    with pytest.raises(InvalidArgument, match="too short"):
        speaker_features(np.zeros(1000, np.float32), "x")


def test_syllables():
    assert syllables("hello there, voxgate") == 5


def test_registry_persists_across_restarts(tmp_path):
    path = tmp_path / "voices.sqlite3"
    reg = VoiceRegistry(path, BUILTIN)
    tokens = np.array([1, 2, 1030, 1031, 5000], np.int64)
    v = reg.create("Ann", "hello", "Ann agreed on 2026-11-21", tokens, FEATURES, b"\x00" * 8)
    reg.close()
    again = VoiceRegistry(path, BUILTIN)
    got = again.get(v.id)
    assert (got.name, got.transcript, got.consent_note) == ("Ann", "hello", v.consent_note)
    np.testing.assert_array_equal(got.tokens, tokens)
    assert got.features == FEATURES and got.audio == b"\x00" * 8
    assert [x.id for x in again.list()] == ["joe", v.id]
    again.delete(v.id)
    with pytest.raises(NotFound):
        again.get(v.id)
    with pytest.raises(NotFound):
        again.delete(v.id)
    with pytest.raises(FailedPrecondition):
        again.delete("joe")
    with pytest.raises(InvalidArgument):
        again.create(" ", "t", "", tokens, FEATURES, None)


ENVELOPE = tuple(round(float(c), 4) for c in np.linspace(-60.0, 2.0, 24))

_OLD_SCHEMA = """
CREATE TABLE voices (
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


def test_registry_persists_the_spectral_envelope(tmp_path):
    path = tmp_path / "voices.sqlite3"
    reg = VoiceRegistry(path, BUILTIN)
    features = SpeakerFeatures(120.0, 6.0, -20.0, 4.0, 3.0, ENVELOPE)
    v = reg.create("Bea", "hello", "", np.array([1, 1030], np.int64), features, None)
    unknown = reg.create("Cy", "hello", "", np.array([1, 1030], np.int64), FEATURES, None)
    reg.close()
    again = VoiceRegistry(path, BUILTIN)
    assert again.get(v.id).features == features
    assert again.get(unknown.id).features.cepstrum == ()
    listed = {x.id: x.features.cepstrum for x in again.list()[1:]}
    assert listed == {v.id: ENVELOPE, unknown.id: ()}
    again.close()


def test_a_database_of_the_old_schema_opens_and_is_migrated(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute(_OLD_SCHEMA)
    db.execute(
        "INSERT INTO voices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("v-old", "Old", "hi", "ok", 1, 110.0, 5.0, -22.0, 4.5, 2.5, b"\x01\x00\x06\x04", None),
    )
    db.commit()
    db.close()
    reg = VoiceRegistry(path, BUILTIN)
    old = reg.get("v-old")
    assert old.features == SpeakerFeatures(110.0, 5.0, -22.0, 4.5, 2.5)  # envelope unknown
    assert old.features.cepstrum == ()
    np.testing.assert_array_equal(old.tokens, [1, 1030])
    new = reg.create("New", "hi", "", np.array([2], np.int64), FEATURES, None)
    new_env = reg.create(
        "Env", "hi", "", np.array([3], np.int64), SpeakerFeatures(1, 1, 1, 1, 1, ENVELOPE), None
    )
    reg.close()
    # opening twice more: the migration is not repeated and the rows are intact
    for _ in range(2):
        reg = VoiceRegistry(path, BUILTIN)
        ids = [v.id for v in reg.list()]
        assert ids[:2] == ["joe", "v-old"] and set(ids[2:]) == {new.id, new_env.id}
        assert reg.get(new_env.id).features.cepstrum == ENVELOPE
        reg.close()
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(voices)")]
    assert columns.count("cepstrum") == 1
