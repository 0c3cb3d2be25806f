"""Speaker conditioning: the envelope analysis, the speaker_adapter graph against its numpy
reference, the shift the planner computes, and its effect through the reference vocoder."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from voxgate.core import style as styles
from voxgate.core.synthesis import JOE, Synthesis, SynthesisLimits, SynthesisRequest
from voxgate.core.voices import (
    F0_LEVEL_SEMITONES,
    SpeakerFeatures,
    VoiceRegistry,
    speaker_features,
    speaker_shift,
    spectral_envelope,
)
from voxgate.model_names import SPEAKER_ADAPTER, VOCODER
from voxgate.reference import dsp, speaker

from tests.conftest import speechlike

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "triton_models"
ADAPTER = MODELS / SPEAKER_ADAPTER / "1" / "model.onnx"


def _session(path: Path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def adapter():
    return _session(ADAPTER)


def _shift(features: np.ndarray, shift: np.ndarray, sess) -> np.ndarray:
    return sess.run(None, {"acoustic_features": features, "speaker_shift": shift})[0]


# -- the graph ---------------------------------------------------------------------------------


def test_committed_adapter_is_what_the_build_exports():
    from voxgate.reference import onnx_export

    built = onnx_export.speaker_adapter_model()
    assert built.SerializeToString() == ADAPTER.read_bytes()
    ops = {n.op_type for n in built.graph.node}
    assert ops <= {"Slice", "Unsqueeze", "Add", "Clip", "Concat"}  # TensorRT-supported ops
    assert [i.name for i in built.graph.input] == ["acoustic_features", "speaker_shift"]
    assert [o.name for o in built.graph.output] == ["shifted_features"]


def test_adapter_matches_the_numpy_reference(adapter):
    rng = np.random.default_rng(0)
    feats = rng.normal(0, 3, (3, 48, dsp.N_FEAT)).astype(np.float32)
    feats[..., dsp.F_LF0] = np.log(rng.uniform(60, 450, (3, 48))).astype(np.float32)
    shift = rng.normal(0, 1, (3, speaker.SHIFT_SIZE)).astype(np.float32)
    shift[2, dsp.N_CEP] = 5.0  # pushes log F0 past the top of the range: clipped
    out = _shift(feats, shift, adapter)
    np.testing.assert_array_equal(out, speaker.shift_features(feats, shift))
    np.testing.assert_allclose(out[..., : dsp.N_CEP], feats[..., : dsp.N_CEP] + shift[:, None, :24])
    np.testing.assert_array_equal(out[..., dsp.F_VW :], feats[..., dsp.F_VW :])
    assert np.allclose(out[2, :, dsp.F_LF0], speaker.LOG_F0_RANGE[1])
    # a zero shift is the identity, bit for bit
    zero = np.zeros_like(shift)
    np.testing.assert_array_equal(_shift(feats, zero, adapter), feats)


# -- the analysis ------------------------------------------------------------------------------


def _harmonic(f0: float, seconds: float = 2.0, tilt: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * dsp.SR)) / dsp.SR
    x = sum(np.sin(2 * np.pi * h * f0 * t) / h**tilt for h in range(1, int(7000 / f0)))
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def test_envelope_measures_pitch_and_tilt():
    dull, bright = speaker.envelope(_harmonic(150, tilt=1.5)), speaker.envelope(_harmonic(150, 0.5))
    assert dull is not None and bright is not None
    assert math.exp(dull.log_f0) == pytest.approx(150, rel=0.03)
    assert dull.voiced_frames > 80
    # c1 weighs low bands up and high bands down: more treble, lower c1
    assert bright.cepstrum[1] < dull.cepstrum[1] - 3
    assert speaker.envelope(np.zeros(16000, np.float32)) is None
    assert speaker.envelope(np.zeros(0, np.float32)) is None


def test_speaker_features_carry_the_envelope():
    wav = speechlike(3.0, seed=2)
    f = speaker_features(wav, "one two three four five six")
    assert len(f.cepstrum) == dsp.N_CEP
    env = speaker.envelope(wav)
    assert env is not None
    np.testing.assert_allclose(f.cepstrum, env.cepstrum, atol=1e-4)
    assert spectral_envelope(np.zeros(16000, np.float32)) == ()


def test_a_cepstral_shift_moves_the_measured_envelope_by_as_much(adapter):
    """Through the real vocoder: the analysis sees the shift the adapter applied."""
    vocoder = _session(MODELS / VOCODER / "1" / "model.onnx")
    t = 60 * dsp.FRAMES_PER_GROUP
    feats = np.zeros((1, t, dsp.N_FEAT), np.float32)
    feats[..., : dsp.N_CEP] = np.asarray(JOE.features.cepstrum, np.float32)
    feats[..., dsp.F_LF0] = np.log(110.0)
    feats[..., dsp.F_VW] = 1.0
    feats[..., dsp.F_SEED] = (np.arange(t) // dsp.FRAMES_PER_GROUP % dsp.NOISE_SEGMENTS)[None]
    shift = np.zeros((1, speaker.SHIFT_SIZE), np.float32)
    shift[0, 1:5] = [3.0, -2.0, 1.5, 1.0]
    shift[0, dsp.N_CEP] = np.log(1.3)

    def measure(s: np.ndarray) -> speaker.Envelope:
        y = vocoder.run(None, {"acoustic_features": _shift(feats, s, adapter)})[0][0]
        env = speaker.envelope(y)
        assert env is not None
        return env

    before, after = measure(np.zeros_like(shift)), measure(shift)
    np.testing.assert_allclose(after.cepstrum[1:5] - before.cepstrum[1:5], shift[0, 1:5], atol=0.6)
    assert math.exp(after.log_f0 - before.log_f0) == pytest.approx(1.3, rel=0.03)


# -- the shift the planner asks for ------------------------------------------------------------


def test_f0_level_matches_the_generator():
    """voxgate's copy of the generator's level step (the service never imports model code)."""
    tree = ast.parse((MODELS / "tts_generator" / "1" / "model.py").read_text())
    consts: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                try:
                    values = ast.literal_eval(node.value)
                except ValueError:
                    continue
                values = values if isinstance(target, ast.Tuple) else [values]
                for n, v in zip(names, values, strict=True):
                    if isinstance(n, ast.Name):
                        consts[n.id] = v
    want = 12 * math.log2(consts["F0_MAX_HZ"] / consts["F0_MIN_HZ"]) / (consts["N_F0"] - 1)
    assert abs(F0_LEVEL_SEMITONES - want) < 1e-12
    assert abs(F0_LEVEL_SEMITONES - 1.163) < 5e-4


CEP_A = tuple(float(x) for x in np.linspace(-60, 1, 24))
CEP_B = tuple(float(x) for x in np.linspace(-50, 3, 24))


def test_speaker_shift_is_the_envelope_difference_and_the_pitch_residual():
    prompt = SpeakerFeatures(150.0, 5.0, -20.0, 5.0, 3.0, CEP_B)
    base = SpeakerFeatures(88.0, 6.0, -24.0, 5.6, 0.0, CEP_A)
    shift = speaker_shift(prompt, base, 9.0)
    assert shift is not None and shift.shape == (25,) and shift.dtype == np.float32
    assert shift[0] == 0.0  # level is not timbre
    np.testing.assert_allclose(shift[1:24], np.subtract(CEP_B, CEP_A)[1:], atol=1e-5)
    residual = 9.0 - 8 * F0_LEVEL_SEMITONES  # round(9 / 1.163) = 8 levels
    assert shift[24] == pytest.approx(residual * math.log(2) / 12, abs=1e-7)
    # unknown envelope: only the pitch residual; nothing left to shift: None
    only_pitch = speaker_shift(SpeakerFeatures(150.0, 5.0, -20.0, 5.0, 3.0), base, 9.0)
    assert only_pitch is not None and not only_pitch[:24].any()
    assert speaker_shift(SpeakerFeatures(150.0, 5.0, -20.0, 5.0, 3.0), base, 0.0) is None


class _ReferenceGenerator:
    """Planning asks the generator only for its engine."""

    async def parameters(self) -> dict[str, str]:
        return {"engine": "reference"}


async def test_plan_conditions_cloned_voices_only(tmp_path):
    registry = VoiceRegistry(tmp_path / "voices.sqlite3", (JOE,))
    tokens = np.arange(10, dtype=np.int64)
    with_env = registry.create(
        "B", "t", "", tokens, SpeakerFeatures(150.0, 5.0, -20.0, 5.6, 3.0, CEP_B), None
    )
    old = registry.create("C", "t", "", tokens, SpeakerFeatures(150.0, 5.0, -20.0, 5.6, 3.0), None)
    limits = SynthesisLimits(1000, 30.0, 5.0, 7)
    syn = Synthesis(_ReferenceGenerator(), None, None, registry, limits)  # type: ignore[arg-type]

    plan = await syn.plan(SynthesisRequest(text="hi", voice=with_env.id), "hi")
    assert plan.speaker_shift is not None
    assert JOE.features is not None
    np.testing.assert_allclose(
        plan.speaker_shift[1:24], np.subtract(CEP_B, JOE.features.cepstrum)[1:], atol=1e-4
    )
    pitch = float(np.clip(12 * math.log2(150.0 / JOE.features.pitch_median_hz), -12, 12))
    assert plan.generator_params["pitch_semitones"][0] == pytest.approx(pitch, abs=1e-5)
    steps = round(pitch / F0_LEVEL_SEMITONES)
    assert plan.speaker_shift[24] == pytest.approx(
        (pitch - steps * F0_LEVEL_SEMITONES) * math.log(2) / 12, abs=1e-6
    )
    assert any("spectral envelope" in n for n in plan.report.not_applied)

    plan = await syn.plan(SynthesisRequest(text="hi", voice=old.id), "hi")
    assert plan.speaker_shift is None or not plan.speaker_shift[:24].any()
    assert any("timbre is not cloned" in n for n in plan.report.not_applied)

    plan = await syn.plan(SynthesisRequest(text="hi"), "hi")
    assert plan.speaker_shift is None  # the built-in voice is rendered as it is
    plan = await syn.plan(
        SynthesisRequest(text="hi", style=styles.Style(pitch_semitones=3.0)), "hi"
    )
    assert plan.speaker_shift is None
    registry.close()


def test_joe_constant_is_a_full_envelope():
    assert JOE.features is not None and len(JOE.features.cepstrum) == dsp.N_CEP
