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
