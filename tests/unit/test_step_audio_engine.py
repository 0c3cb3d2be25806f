"""triton_models/tts_generator/1/step_audio.py: Step-Audio's TTS template, the sampling rules
and the group grammar, on the tiny same-interface model (no Triton)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.tiny_step_audio import build_tiny_step_audio, write_speakers

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "step_audio_under_test", ROOT / "triton_models" / "tts_generator" / "1" / "step_audio.py"
)
sa = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = sa
spec.loader.exec_module(sa)

PROMPTS = {"without_speaker": "Read it.", "with_speaker": "Read it as [{speaker}]."}


class Stop(Exception):
    pass


def fake_encode(text: str) -> list[int]:
    """A tokenizer that, like a SentencePiece one, puts a marker (9) before a leading newline."""
    return ([9] if text.startswith("\n") else []) + [100 + ord(c) for c in text]


def enc(text: str) -> list[int]:
    return [100 + ord(c) for c in text]


def test_template_clone_as_step_audio_builds_it() -> None:
    speaker = sa.Speaker("hi", (1, 2, 1030, 1031, 1032))
    ids = sa.prompt_ids(fake_encode, "yo", speaker, "", PROMPTS)
    turns = [
        [1, 4, *enc("system\nRead it."), 3],
        [4, *enc("human\n"), *enc("hi"), 3],
        [4, *enc("assistant\n"), 65537, 65538, 66566, 66567, 66568, 3],
        [4, *enc("human\n"), *enc("yo"), 3],
        [4, *enc("assistant\n")],
    ]
    assert ids == [i for turn in turns for i in turn]


def test_template_named_speaker_and_no_speaker() -> None:
    named = sa.prompt_ids(fake_encode, "yo", sa.Speaker("hi", (0,) * 5), "Tingting", PROMPTS)
    assert named[2 : 2 + len(enc("system\nRead it as [Tingting]."))] == enc(
        "system\nRead it as [Tingting]."
    )
    bare = sa.prompt_ids(fake_encode, "yo", None, "", PROMPTS)
    turns = [[1, 4, *enc("system\nRead it."), 3], [4, *enc("human\n"), *enc("yo"), 3]]
    assert bare == [*turns[0], *turns[1], 4, *enc("assistant\n")]


def test_generation_budget() -> None:
    assert sa.max_groups("", 0.2) == 8
    assert sa.max_groups("x" * 60, 0.2) == 100  # 12 s of speech at most


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = build_tiny_step_audio(tmp_path_factory.mktemp("tiny") / "model")
    write_speakers(path, {"tingting": ("Hello.", [3, 7, 1029, 1030, 1031])})
    return path


@pytest.fixture(scope="module")
def engine(tiny):
    return sa.StepAudioEngine(str(tiny), stream_groups=3, seconds_per_char=0.1)


def run(engine, text="Hello there.", **kw) -> list[np.ndarray]:
    kw.setdefault("speaker", None)
    kw.setdefault("speaker_name", "")
    kw.setdefault("seed", 0)
    kw.setdefault("check", lambda: None)
    return list(engine.generate(text, **kw))


def test_output_is_whole_valid_groups_streamed(engine) -> None:
    chunks = run(engine)
    assert all(len(c) == 15 for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 15
    ids = np.concatenate(chunks).reshape(-1, 5)
    assert (ids[:, :2] < 1024).all() and (ids[:, 2:] >= 1024).all() and ids.max() < 5120
    assert len(ids) <= sa.max_groups("Hello there.", 0.1)


def test_seed_repeats_and_changes(engine) -> None:
    a, b, c = run(engine, seed=5), run(engine, seed=5), run(engine, seed=6)
    assert np.array_equal(np.concatenate(a), np.concatenate(b))
    assert not np.array_equal(np.concatenate(a), np.concatenate(c))
    greedy = [run(engine, temperature=0.0, seed=s) for s in (1, 2)]
    assert np.array_equal(np.concatenate(greedy[0]), np.concatenate(greedy[1]))


def test_repetition_aware_rule_bans_a_token_that_fills_the_window(engine) -> None:
    import torch

    logits = torch.zeros(engine._masks.shape[1])
    history = torch.tensor([0] * 5 + [65540, 1, 2, 3, 65540])  # the last token: 2 of 10
    assert engine._constrain(logits.clone(), history, position=0)[65540] == -np.inf
    history = torch.arange(65536, 65546)  # each once: 10% is not more than the threshold
    assert engine._constrain(logits.clone(), history, position=0)[65545] == 0
    short = torch.tensor([65540] * 9)  # under 10 tokens: the rule waits for a full window
    assert engine._constrain(logits.clone(), short, position=0)[65540] == 0


def test_grammar_masks(engine) -> None:
    import torch

    logits = torch.zeros(engine._masks.shape[1])
    history = torch.arange(10)
    start = engine._constrain(logits.clone(), history, position=0)
    assert start[65536] == 0 and start[65536 + 1023] == 0 and start[65536 + 1024] == -np.inf
    assert all(start[e] == 0 for e in engine.eos)
    second = engine._constrain(logits.clone(), history, position=1)
    assert all(second[e] == -np.inf for e in engine.eos)  # no end inside a group
    semantic = engine._constrain(logits.clone(), history, position=3)
    assert semantic[65536 + 1023] == -np.inf and semantic[65536 + 1024] == 0
    assert semantic[65536 + 5119] == 0 and semantic[5] == -np.inf


def test_check_runs_before_every_step(engine) -> None:
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) == 4:
            raise Stop

    with pytest.raises(Stop):
        run(engine, check=check)
    assert len(calls) == 4


def test_speakers_and_prompts_files(tiny, tmp_path) -> None:
    assert sa.load_speakers(tiny)["tingting"].tokens == (3, 7, 1029, 1030, 1031)
    (tiny / "prompts.json").write_text(json.dumps({"without_speaker": "Custom."}))
    try:
        e = sa.StepAudioEngine(str(tiny))
        assert e.prompts["without_speaker"] == "Custom."
        assert "{speaker}" in e.prompts["with_speaker"]
    finally:
        (tiny / "prompts.json").unlink()


def test_refuses_directories_that_are_not_step_audio_like(tiny, tmp_path) -> None:
    with pytest.raises(sa.EngineError, match=r"no config\.json"):
        sa.StepAudioEngine(str(tmp_path))
    from transformers import LlamaConfig, LlamaForCausalLM

    small = tmp_path / "small"
    LlamaForCausalLM(
        LlamaConfig(
            vocab_size=300,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
        )
    ).save_pretrained(small)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (small / name).write_bytes((tiny / name).read_bytes())
    with pytest.raises(sa.EngineError, match="no room for the 5120 audio tokens"):
        sa.StepAudioEngine(str(small))
