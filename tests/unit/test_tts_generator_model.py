"""triton_models/tts_generator/1/model.py with a stub `triton_python_backend_utils`.

The model is loaded by file path, as Triton loads it: it must need nothing from voxgate. The
pure helpers (pitch shift, word bounds, pieces, word timings) are tested alone; the request
flow runs with the real Piper voice and a stand-in for the BLS call to `tokenize`.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.unit import triton_stub
from tests.unit.triton_stub import (
    FINAL,
    InferenceResponse,
    Tensor,
    TritonError,
    TritonModelException,
)
from tests.unit.triton_stub import ResponseSender as Sender

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "triton_models" / "tts_generator" / "1" / "model.py"

# --- the stand-in utilities, with tts_generator's BLS call ---------------------------------


class Bls:
    """Stand-in for `pb_utils.InferenceRequest(...).exec()` on the tokenize ensemble: voiced
    linguistic tokens (F0 level 10, gain 16) and semantic token 7, one per hop."""

    calls: list[np.ndarray] = []  # noqa: RUF012
    fail = False

    def __init__(self, model_name: str, requested_output_names: list[str], inputs: list) -> None:
        assert model_name == "tokenize"
        assert requested_output_names == ["linguistic_tokens", "semantic_tokens"]
        self.wav = inputs[0].as_numpy()

    def exec(self) -> InferenceResponse:
        assert self.wav.dtype == np.float32 and self.wav.ndim == 2 and self.wav.shape[0] == 1
        Bls.calls.append(self.wav)
        if Bls.fail:
            return InferenceResponse(error=TritonError("tokenize broke"))
        s = self.wav.shape[1]
        ling = np.full((1, s // 960), 10 * 32 + 16, np.int64)
        sem = np.full((1, s // 640), 7, np.int64)
        return InferenceResponse(
            [Tensor("linguistic_tokens", ling), Tensor("semantic_tokens", sem)]
        )


# tts_generator moves its active-requests gauge with set(); its BLS call goes to Bls.
PB_UTILS = triton_stub.make_stub(metric=triton_stub.Metric, InferenceRequest=Bls)
metric = PB_UTILS.MetricFamily.value


@pytest.fixture(scope="module")
def tts():
    """model.py imported from its path with the stub utilities in place."""
    return triton_stub.load_model(MODEL, "tts_generator_model", PB_UTILS)


def config(decoupled: bool = True, engine: str = "reference", voice: str = "joe") -> dict:
    return {
        "name": "tts_generator",
        "backend": "python",
        "max_batch_size": 0,
        "model_transaction_policy": {"decoupled": decoupled},
        "parameters": {
            "engine": {"string_value": engine},
            "voice_default": {"string_value": voice},
            "intra_op_threads": {"string_value": "1"},
        },
    }


def initialize(tts, cfg: dict):
    m = tts.TritonPythonModel()
    m.initialize({"model_config": json.dumps(cfg), "model_repository": "", "model_version": "1"})
    return m


@pytest.fixture(scope="module")
def model(tts):
    m = initialize(tts, config())
    yield m
    m.finalize()


# --- loading --------------------------------------------------------------------------------


def test_refuses_a_config_that_is_not_decoupled(tts) -> None:
    with pytest.raises(TritonModelException, match="decoupled"):
        initialize(tts, config(decoupled=False))


def test_refuses_an_unknown_engine(tts) -> None:
    with pytest.raises(TritonModelException, match="'cosyvoice' is not supported"):
        initialize(tts, config(engine="cosyvoice"))


def test_step_audio_engine_needs_a_model_directory(tts, tmp_path) -> None:
    with pytest.raises(TritonModelException, match="needs parameter model_dir"):
        initialize(tts, config(engine="step-audio"))
    cfg = config(engine="step-audio")
    cfg["parameters"]["model_dir"] = {"string_value": str(tmp_path)}
    cfg["parameters"]["voice_default"] = {"string_value": ""}
    with pytest.raises(TritonModelException, match=r"no config\.json"):
        initialize(tts, cfg)


def test_refuses_an_unknown_default_voice(tts) -> None:
    with pytest.raises(TritonModelException, match="nobody"):
        initialize(tts, config(voice="nobody"))


@pytest.mark.parametrize("path", [MODEL, MODEL.with_name("step_audio.py")])
def test_model_imports_nothing_from_voxgate(path) -> None:
    """Triton's stub may run in a Python without voxgate."""
    imported = triton_stub.top_level_imports(path)
    allowed = {"importlib", "itertools", "json", "math", "os", "sys", "threading", "traceback",
               "unicodedata", "dataclasses", "numpy", "onnxruntime", "onnx", "soxr", "piper",
               "triton_python_backend_utils", "__future__", "contextlib", "heapq", "time",
               "collections", "pathlib", "torch", "transformers"}  # fmt: skip
    assert imported <= allowed, imported - allowed


# --- pitch ----------------------------------------------------------------------------------


def ids_of(levels: list[int], gains: list[int], semantic: int = 5) -> np.ndarray:
    ling = np.array(levels) * 32 + np.array(gains)
    groups = ling.reshape(-1, 2)
    sem = np.full((len(groups), 3), 1024 + semantic)
    return np.concatenate([groups, sem], 1).reshape(-1)


def test_pitch_level_step(tts) -> None:
    step = tts.F0_LEVEL_SEMITONES
    assert step == pytest.approx(12 * np.log2(450 / 60) / 30)
    assert tts.pitch_steps(6) == 5  # 6 / 1.163 = 5.16
    assert tts.pitch_steps(-6) == -5
    assert tts.pitch_steps(0.5) == 0
    assert tts.pitch_steps(12) == 10


def test_pitch_shift_moves_voiced_levels_only(tts) -> None:
    ids = ids_of([3, 10, 31, 28, 1, 31], [0, 16, 5, 31, 7, 16])
    up = tts.shift_pitch(ids, 6.0)
    assert up.dtype == np.int64 and up.shape == ids.shape
    g, u = ids.reshape(-1, 5), up.reshape(-1, 5)
    np.testing.assert_array_equal(u[:, 2:], g[:, 2:])  # semantic untouched
    lvl, gain = u[:, :2] // 32, u[:, :2] % 32
    np.testing.assert_array_equal(gain, g[:, :2] % 32)  # gain corrections untouched
    np.testing.assert_array_equal(lvl.reshape(-1), [8, 15, 31, 30, 6, 31])  # 28+5 clipped to 30
    down = tts.shift_pitch(ids, -6.0).reshape(-1, 5)[:, :2] // 32
    np.testing.assert_array_equal(down.reshape(-1), [0, 5, 31, 23, 0, 31])  # clipped at 0
    np.testing.assert_array_equal(tts.shift_pitch(ids, 0.3), ids)
    np.testing.assert_array_equal(ids, ids_of([3, 10, 31, 28, 1, 31], [0, 16, 5, 31, 7, 16]))


def test_pitch_shift_of_nothing(tts) -> None:
    assert tts.shift_pitch(np.zeros(0, np.int64), 6).shape == (0,)


def test_interleave_and_padding(tts) -> None:
    ids = tts.interleave(np.arange(5), np.arange(7))  # 2 whole groups, leftovers dropped
    np.testing.assert_array_equal(ids, [0, 1, 1024, 1025, 1026, 2, 3, 1027, 1028, 1029])
    # The model keeps its own copy (it runs without voxgate); it must not drift from the one rule.
    from voxgate import interleave as rule

    rng = np.random.default_rng(3)
    ling, sem = rng.integers(0, 1024, 23), rng.integers(0, 4096, 31)
    np.testing.assert_array_equal(tts.interleave(ling, sem), rule.interleave(ling, sem))
    assert (tts.SAMPLE_RATE, tts.GROUP_SAMPLES, tts.SEMANTIC_OFFSET) == (
        rule.SAMPLE_RATE,
        rule.GROUP_SAMPLES,
        rule.SEMANTIC_OFFSET,
    )
    assert len(tts.pad_to_groups(np.ones(1921))) == 3840
    assert len(tts.pad_to_groups(np.ones(3840))) == 3840


# --- words, pieces, timings -----------------------------------------------------------------


def test_words_of_strips_punctuation(tts) -> None:
    assert tts.words_of("Hello, world! — it's “fine”...") == ["Hello", "world", "it's", "fine"]
    assert tts.words_of(" ... ") == []


def test_word_bounds_follow_phoneme_words_when_counts_match(tts) -> None:
    assert tts.word_bounds([9, 9, 9], [2, 5, 3]) == [0, 2, 7, 10]


def test_word_bounds_share_joined_phoneme_words(tts) -> None:
    # "of the states": espeak-ng joins "of the" (ʌvðə, 4 symbols) -> 2 phoneme words
    bounds = tts.word_bounds([2, 2, 7], [4, 7])
    assert bounds == [0, 2, 4, 11]
    # more words than sounds: bounds still increase and end at the total
    b = tts.word_bounds([1, 1, 1, 1], [2])
    assert b[0] == 0 and b[-1] == 2 and b == sorted(b)


def test_long_clause_is_cut_at_words_into_pieces_of_about_4s(tts) -> None:
    words = [f"w{i}" for i in range(40)]
    phonemes = " ".join(["abcd"] * 40).replace("", "|").split("|")[1:-1]  # 4 symbols/word
    bounds = tts.word_bounds([4] * 40, tts.phoneme_word_counts(phonemes))
    pieces = tts.plan_pieces(words, phonemes, bounds, 1.0)
    assert len(pieces) == 3  # 160 symbols ~ 9.6 s
    assert [w for p in pieces for w, _, _ in p.words] == words  # each word once, in order
    for p in pieces:
        n = tts.sound_count(p.phonemes)
        assert tts.estimated_seconds(n, 1.0) <= 4.5
        assert p.phonemes[0] != " " and p.phonemes[-1] != " "
        assert all(0 <= a < b <= n for _, a, b in p.words)
    assert len(tts.plan_pieces(words, phonemes, bounds, 2.0)) == 2  # faster: fewer pieces
    assert len(tts.plan_pieces(words[:5], phonemes[:19], bounds[:6], 1.0)) == 1


def test_sound_spans_from_alignment_and_proportional(tts) -> None:
    phonemes = ["h", "ˈ", "i", " ", "y", "o", "."]
    counts = [1] * len(phonemes)
    # ids: BOS PAD (id PAD)*7 EOS -> 2 + 14 + 1 = 17 durations
    samples = np.array([100, 50] + [10, 0] * 7 + [70])
    spans = tts.sound_spans(phonemes, counts, samples, int(samples.sum()))
    assert spans == [(150, 160), (160, 170), (170, 180), (190, 200), (200, 210)]
    fallback = tts.sound_spans(phonemes, counts, None, 500)
    assert fallback == [(0, 100), (100, 200), (200, 300), (300, 400), (400, 500)]


def test_word_timing_json_shape(tts) -> None:
    spans = [(0, 2205), (2205, 4410), (4410, 6615), (8820, 11025)]
    timings = tts.word_timings([("Hello", 0, 3), ("you", 3, 4)], spans, 22050)
    assert timings == [["Hello", 0, 300], ["you", 400, 500]]
    decoded = json.loads(json.dumps(timings))
    assert all(isinstance(w, str) and isinstance(a, int) and isinstance(b, int)
               for w, a, b in decoded)  # fmt: skip
    assert tts.word_timings([("x", 0, 0)], [], 16000) == [["x", 0, 0]]


# --- the request flow (real Piper voice, BLS stand-in) ---------------------------------------


class Request:
    def __init__(self, sender: Sender, clauses: list[str], **inputs) -> None:
        self.sender = sender
        self.inputs = {"text": Tensor("text", np.array([c.encode() for c in clauses], object))}
        for k, v in inputs.items():
            dtype = object if isinstance(v, str) else np.float32
            self.inputs[k] = Tensor(k, np.array([v.encode() if isinstance(v, str) else v], dtype))

    def get_response_sender(self) -> Sender:
        return self.sender

    def request_id(self) -> str:
        return "req-1"


def run(model, clauses: list[str], cancel_after: int | None = None, **inputs) -> Sender:
    sender = Sender(cancel_after)
    model._run(Request(sender, clauses, **inputs))
    assert sender.flags == [FINAL]  # always exactly one final flag, last
    assert model.active == {}  # per-request state freed
    return sender


CLAUSES = ["Hello there, my friend.", "This is the second clause.", "And a third one."]


def test_one_response_per_clause_whole_groups_and_timings(model) -> None:
    before = metric("voxgate_tts_requests_total", outcome="finished")
    groups_before = metric("voxgate_tts_groups_total")
    sender = run(model, CLAUSES)
    assert len(sender.responses) == 3
    total = 0
    for i, r in enumerate(sender.responses):
        assert not r.has_error()
        ids = r.tensor("audio_tokens")
        assert ids.dtype == np.int64 and ids.size > 0 and ids.size % 5 == 0
        total += ids.size // 5
        assert r.tensor("clause_index").tolist() == [i]
        (blob,) = r.tensor("word_timings")
        timings = json.loads(blob.decode())
        assert [w for w, _, _ in timings] == [w.strip(",.") for w in CLAUSES[i].split()]
        assert timings and all(0 <= a <= b <= ids.size // 5 * 120 for _, a, b in timings)
        assert [a for _, a, _ in timings] == sorted(a for _, a, _ in timings)
    assert metric("voxgate_tts_requests_total", outcome="finished") == before + 1
    assert metric("voxgate_tts_groups_total") == groups_before + total
    assert metric("voxgate_tts_active_requests") == 0


def test_same_text_same_tokens_and_pitch_applied(model) -> None:
    a = run(model, CLAUSES[:1]).responses[0].tensor("audio_tokens")
    b = run(model, CLAUSES[:1]).responses[0].tensor("audio_tokens")
    np.testing.assert_array_equal(a, b)
    up = run(model, CLAUSES[:1], pitch_semitones=6.0).responses[0].tensor("audio_tokens")
    assert (up.reshape(-1, 5)[:, :2] // 32 == 15).all()  # the stand-in's level 10, +5


def test_speed_changes_the_amount_of_speech(model) -> None:
    slow = run(model, CLAUSES[:1], speed=0.5).responses[0].tensor("audio_tokens").size
    fast = run(model, CLAUSES[:1], speed=2.0).responses[0].tensor("audio_tokens").size
    assert fast < slow / 2.5


def test_cancel_stops_at_the_next_piece(model) -> None:
    before = metric("voxgate_tts_requests_total", outcome="cancelled")
    calls = len(Bls.calls)
    sender = run(model, CLAUSES, cancel_after=1)
    assert len(sender.responses) == 1
    assert len(Bls.calls) == calls + 1  # nothing tokenized after the cancel
    assert metric("voxgate_tts_requests_total", outcome="cancelled") == before + 1
    assert metric("voxgate_tts_active_requests") == 0


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"voice": "nobody"}, "unknown voice 'nobody'"),
        ({"speed": 3.0}, "speed"),
        ({"pitch_semitones": -13.0}, "pitch_semitones"),
        ({"speed": float("nan")}, "speed"),
    ],
)
def test_bad_inputs_get_an_error_response(model, inputs: dict, message: str) -> None:
    before = metric("voxgate_tts_requests_total", outcome="failed")
    sender = run(model, CLAUSES, **inputs)
    (response,) = sender.responses
    assert response.has_error() and message in response.error().message()
    assert metric("voxgate_tts_requests_total", outcome="failed") == before + 1


def test_tokenizer_failure_is_an_error_without_details(model) -> None:
    Bls.fail = True
    try:
        sender = run(model, CLAUSES)
    finally:
        Bls.fail = False
    (response,) = sender.responses
    assert response.error().message() == "tts_generator failed (RuntimeError)"
    assert "tokenize broke" in PB_UTILS.Logger.lines[-1]  # the details go to Triton's log


def test_empty_and_silent_clauses(model) -> None:
    assert run(model, []).responses == []
    sender = run(model, ["...", "Yes."])
    assert [r.tensor("clause_index").tolist() for r in sender.responses] == [[0], [1]]
    assert sender.responses[0].tensor("audio_tokens").size == 0
    assert json.loads(sender.responses[0].tensor("word_timings")[0]) == []


def test_execute_runs_requests_in_threads(model) -> None:
    senders = [Sender(), Sender()]
    assert model.execute([Request(s, CLAUSES[:1]) for s in senders]) is None
    for s in senders:
        assert s.done.wait(60)
        assert s.flags == [FINAL] and len(s.responses) == 1


# --- the urgency gate ---------------------------------------------------------------------------


def test_gate_serves_the_earliest_deadline_first(tts) -> None:
    gate = tts.UrgencyGate(poll_s=0.005)
    order, started = [], threading.Event()

    def holder() -> None:
        with gate.hold(0.0):
            started.set()
            while gate.waiting() < 3:
                time.sleep(0.001)

    def waiter(name: str, slack: float) -> None:
        with gate.hold(slack):
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    started.wait()
    threads = [
        threading.Thread(target=waiter, args=a)
        for a in (("ahead", 3.0), ("new", -0.1), ("mid", 1.0))
    ]
    for t in threads:
        t.start()
        time.sleep(0.01)
    for t in [first, *threads]:
        t.join(5)
    assert order == ["new", "mid", "ahead"]


def test_gate_wait_is_cancellable(tts) -> None:
    gate = tts.UrgencyGate(poll_s=0.005)
    release, held = threading.Event(), threading.Event()
    calls = []

    def holder() -> None:
        with gate.hold(0.0):
            held.set()
            release.wait(5)

    def check() -> None:
        calls.append(1)
        if len(calls) > 3:
            raise tts.Cancelled

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    with pytest.raises(tts.Cancelled), gate.hold(0.0, check):
        pass
    assert gate.waiting() == 0
    release.set()
    t.join(5)
    with gate.hold(0.0):  # free again
        pass


def test_piece_deadline_is_earliest_dry_time_with_lateness_bounded(tts) -> None:
    state = tts.RequestState("r", clauses=1, started=100.0)
    assert tts.piece_deadline(state, "urgency", now=100.0) == 100.0  # new: due now
    state.groups_sent = 25  # 3 s of audio sent
    assert tts.piece_deadline(state, "urgency", now=101.0) == pytest.approx(103.0)  # ahead
    assert tts.piece_deadline(state, "urgency", now=110.0) == pytest.approx(109.0)  # late: capped
    assert tts.piece_deadline(state, "arrival", now=101.0) == 101.0
    # Overloaded: a stream 7 s late queues behind a request that arrived 0.5 s before it.
    newcomer = tts.piece_deadline(tts.RequestState("n", 1, started=109.5), "urgency", 109.5)
    assert newcomer < tts.piece_deadline(state, "urgency", now=110.6)
