"""What loading a model takes, read from the repository: ensemble steps and BLS calls."""

from __future__ import annotations

from pathlib import Path

from voxgate import model_names
from voxgate.model_repository import ensemble_steps, with_needs

REPO = Path(__file__).resolve().parents[2] / "triton_models"

STEP_AUDIO_TOKENIZE = """
name: "tokenize"
platform: "ensemble"
ensemble_scheduling {
  step [
    { model_name: "linguistic_tokenizer" model_version: -1 },
    { model_name: "semantic_tokenizer" model_version: -1 }
  ]
}
"""


def test_reference_tokenize_runs_the_joint_tokenizer_only():
    assert ensemble_steps(REPO, model_names.TOKENIZE, "cpu") == (model_names.JOINT_TOKENIZER,)
    assert ensemble_steps(REPO, model_names.JOINT_TOKENIZER, "cpu") == ()
    assert with_needs([model_names.TOKENIZE, model_names.DETOKENIZE], REPO, "cpu") == sorted(
        [
            "tokenize",
            "joint_tokenizer",
            "stream_tokenizer",
            "detokenize",
            "token_decoder",
            "vocoder",
        ]
    )


def test_bls_calls_and_companions_come_along():
    got = with_needs([model_names.TTS_GENERATOR], REPO, "cpu")
    assert got == sorted(["tts_generator", "tokenize", "joint_tokenizer", "stream_tokenizer"])


def test_another_profile_gets_its_own_steps_and_missing_models_are_left_out(tmp_path: Path):
    for name in ("tokenize", "linguistic_tokenizer", "semantic_tokenizer"):
        (tmp_path / name).mkdir()
    (tmp_path / "tokenize" / "config.pbtxt").write_text(STEP_AUDIO_TOKENIZE)
    # a step-audio repository (no TTS generator, no stream tokenizer): not asked for
    got = with_needs(["tokenize", "tts_generator"], tmp_path, "cpu")
    assert got == ["linguistic_tokenizer", "semantic_tokenizer", "tokenize"]


def test_the_chosen_config_is_read(tmp_path: Path):
    (tmp_path / "tokenize" / "configs").mkdir(parents=True)
    (tmp_path / "tokenize" / "configs" / "gpu.pbtxt").write_text(STEP_AUDIO_TOKENIZE)
    (tmp_path / "tokenize" / "config.pbtxt").write_text('name: "tokenize"\nbackend: "python"\n')
    assert ensemble_steps(tmp_path, "tokenize", "gpu") == (
        "linguistic_tokenizer",
        "semantic_tokenizer",
    )
    assert ensemble_steps(tmp_path, "tokenize", "cpu") == ()
