"""triton_models/vad/1/model.py with a stub `triton_python_backend_utils`.

The model is loaded by file path, as Triton loads it: it must need nothing from voxgate. It
runs the real Silero VAD v6 ONNX file of the `silero-vad` wheel (installed --no-deps) on
onnxruntime; requests are stand-ins that carry what Triton's sequence batcher gives a Python
model (the START/END/READY control tensors, the correlation id), a batch's requests in slot
order as the direct strategy sends them.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc

from tests.unit import triton_stub
from tests.unit.triton_stub import TritonModelException

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "triton_models" / "vad" / "1" / "model.py"
CONFIG = ROOT / "triton_models" / "vad" / "config.pbtxt"
FRAME = 512

if importlib.util.find_spec("silero_vad") is None:
    pytest.skip(
        "silero-vad not installed (pip install --no-deps silero-vad==6.2.3)",
        allow_module_level=True,
    )

# --- the stand-in utilities (triton_stub.py) -----------------------------------------------

# vad's instances share their gauge, each adding its own part: set() would be a bug.
PB_UTILS = triton_stub.make_stub(metric=triton_stub.IncrementOnlyMetric)
metric = PB_UTILS.MetricFamily.value


class Request(triton_stub.SequenceRequest):
    """What the sequence batcher hands the model: audio [1, n], the controls, the id."""

    def __init__(self, audio, corrid: int | str = 1, *, start=False, end=False, ready=True) -> None:
        audio = np.asarray(audio, np.float32).reshape(1, -1)
        super().__init__(corrid, start=start, end=end, ready=ready, audio=audio)


def null_request() -> Request:
    """A slot with nothing to run in this batch: READY false, correlation id 0."""
    return Request(np.zeros(7), 0, ready=False)


@pytest.fixture(scope="module")
def vad():
    """model.py imported from its path with the stub utilities in place."""
    return triton_stub.load_model(MODEL, "vad_model", PB_UTILS)


def config_json(**changes) -> dict:
    """config.pbtxt as the JSON a Python model gets (protobuf's JSON: fields at their default
    value, e.g. kind CONTROL_SEQUENCE_START, are left out), with top-level changes."""
    cfg = text_format.Parse(CONFIG.read_text(), mc.ModelConfig())
    out = json_format.MessageToDict(cfg, preserving_proto_field_name=True)
    out.update(changes)
    return out


def make_model(vad, config: dict | None = None):
    m = vad.TritonPythonModel()
    m.initialize({"model_config": json.dumps(config or config_json())})
    return m


@pytest.fixture
def model(vad):
    m = make_model(vad)
    yield m
    m.finalize()


def run(model, *requests):
    """One batch (requests in slot order) -> responses."""
    responses = model.execute(list(requests))
    assert len(responses) == len(requests)
    return responses


def probs(response) -> np.ndarray:
    assert not response.has_error(), response.error().message()
    p = response.tensor("speech_prob")
    assert p.dtype == np.float32 and p.ndim == 2 and p.shape[0] == 1
    return p[0]


def first_frame(response) -> int:
    f = response.tensor("first_frame")
    assert f.dtype == np.int64 and f.shape == (1, 1)
    return int(f[0, 0])


def error(response) -> str:
    assert response.has_error()
    return response.error().message()


def stream(model, audio: np.ndarray, sizes, corrid=1, slot=0) -> tuple[np.ndarray, list[int]]:
    """`audio` as one sequence cut at `sizes` (the rest in the last request)."""
    cuts = np.cumsum(sizes)
    pieces = np.split(audio, cuts[cuts < audio.size])
    out, firsts = [], []
    for i, piece in enumerate(pieces):
        req = Request(piece, corrid, start=i == 0, end=i == len(pieces) - 1)
        batch = [null_request() for _ in range(slot)] + [req]
        r = run(model, *batch)[slot]
        out.append(probs(r))
        firsts.append(first_frame(r))
    return np.concatenate(out), firsts


def noise(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(16000 * seconds))).astype(
        np.float32
    )


def espeak(text: str) -> np.ndarray:
    """espeak-ng speech at 16 kHz (its native 22050 Hz output resampled), peak 0.7."""
    import soxr

    wav = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    pcm = np.frombuffer(wav[44:], np.int16).astype(np.float32) / 32768  # RIFF header: 44 bytes
    x = soxr.resample(pcm, 22050, 16000).astype(np.float32)
    return (0.7 * x / np.abs(x).max()).astype(np.float32)


def reference_probs(path: Path, audio: np.ndarray) -> np.ndarray:
    """Silero's own streaming rule (utils_vad.OnnxWrapper), written out: each 512-sample chunk
    prefixed by the last 64 samples of the previous input, state carried, sr 16000."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    state = np.zeros((2, 1, 128), np.float32)
    context = np.zeros((1, 64), np.float32)
    out = []
    for i in range(audio.size // FRAME):
        x = np.concatenate([context, audio[None, i * FRAME : (i + 1) * FRAME]], axis=1)
        p, state = session.run(None, {"input": x, "state": state, "sr": np.array(16000)})
        out.append(p[0, 0])
        context = x[:, -64:]
    return np.array(out, np.float32)


# --- configuration and model file -----------------------------------------------------------


def test_find_onnx_without_importing_the_package(vad) -> None:
    sys.modules.pop("silero_vad", None)
    path = vad.find_onnx("silero_vad")
    assert path.name == "silero_vad.onnx" and path.parent.name == "data" and path.is_file()
    assert "silero_vad" not in sys.modules  # importing it would need torch
    with pytest.raises(vad.ConfigError, match="pip install --no-deps silero-vad"):
        vad.find_onnx("no_such_package_here")


def test_repository_config_is_accepted(vad) -> None:
    seq = vad.check_config(config_json())
    assert seq.slots == 64 and seq.idle_s == 30.0
    assert seq.controls == {"START": "START", "END": "END", "READY": "READY"}
    s = vad.settings_from({})
    assert s.max_samples_per_request == 320000 and s.intra_op_threads == 1


def _without_control(name: str) -> dict:
    cfg = config_json()
    seq = cfg["sequence_batching"]
    seq["control_input"] = [c for c in seq["control_input"] if c["name"] != name]
    return cfg


def _oldest() -> dict:
    cfg = config_json()
    del cfg["sequence_batching"]["direct"]
    cfg["sequence_batching"]["oldest"] = {"max_candidate_sequences": 4}
    return cfg


def _inverted_end() -> dict:
    cfg = config_json()
    for c in cfg["sequence_batching"]["control_input"]:
        if c["name"] == "END":
            c["control"][0]["int32_false_true"] = [1, 0]
    return cfg


def _audio_dims(dims) -> dict:
    cfg = config_json()
    cfg["input"][0]["dims"] = dims
    return cfg


def _output_type(name: str, dtype: str) -> dict:
    cfg = config_json()
    for t in cfg["output"]:
        if t["name"] == name:
            t["data_type"] = dtype
    return cfg


def _idle(us: int) -> dict:
    cfg = config_json()
    cfg["sequence_batching"]["max_sequence_idle_microseconds"] = str(us)
    return cfg


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: config_json(max_batch_size=0), "max_batch_size >= 1"),
        (lambda: {k: v for k, v in config_json().items() if k != "sequence_batching"},
         "needs sequence_batching"),
        (_oldest, "direct strategy"),
        (lambda: _without_control("READY"), "lacks READY"),
        (lambda: _without_control("START"), "lacks START"),
        (_inverted_end, "values 0/1"),
        (lambda: _audio_dims(["1", "-1"]), "'audio' must be TYPE_FP32 \\[-1\\]"),
        (lambda: _output_type("first_frame", "TYPE_INT32"), "'first_frame' must be TYPE_INT64"),
        (lambda: _idle(0), "max_sequence_idle_microseconds > 0"),
    ],
)  # fmt: skip
def test_bad_config_fails_to_load_with_a_clear_message(vad, make, message) -> None:
    with pytest.raises(vad.ConfigError, match=message):
        vad.check_config(make())
    with pytest.raises(TritonModelException, match=message):
        make_model(vad, make())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_samples_per_request": "100"}, "max_samples_per_request must be >= 512"),
        ({"max_samples_per_request": "many"}, "bad parameter value"),
        ({"intra_op_threads": "0"}, "intra_op_threads must be >= 1"),
    ],
)
def test_bad_parameters(vad, params, message) -> None:
    with pytest.raises(vad.ConfigError, match=message):
        vad.settings_from(params)


def test_onnx_file_with_another_interface_is_refused(vad, tmp_path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["output"])],
        "not_silero",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, None])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, None])],
    )
    path = tmp_path / "other.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.save(model, path)
    cfg = config_json()
    cfg["parameters"]["model_file"] = {"string_value": str(path)}
    with pytest.raises(TritonModelException, match="not Silero v6's"):
        make_model(vad, cfg)
    cfg["parameters"]["model_file"] = {"string_value": str(tmp_path / "missing.onnx")}
    with pytest.raises(TritonModelException, match="does not exist"):
        make_model(vad, cfg)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    cfg["parameters"]["model_file"] = {"string_value": str(tmp_path / "junk.onnx")}
    with pytest.raises(TritonModelException, match=r"cannot load .*junk\.onnx with onnxruntime"):
        make_model(vad, cfg)


# --- probabilities --------------------------------------------------------------------------


def test_probabilities_are_silero_streaming_probabilities(model) -> None:
    audio = np.concatenate([noise(0.5, 0.003), noise(1.0, 0.2, seed=1)])
    got, firsts = stream(model, audio, [audio.size])
    assert firsts == [0] and got.size == audio.size // FRAME
    np.testing.assert_allclose(got, reference_probs(model.vad.path, audio), rtol=0, atol=1e-6)


def test_chunking_does_not_change_probabilities(model) -> None:
    rng = np.random.default_rng(3)
    audio = np.concatenate([noise(0.7, 0.002), noise(1.3, 0.3, seed=2), noise(0.5, 0.002)])
    whole, _ = stream(model, audio, [audio.size])
    for sizes in (
        [FRAME] * 100,
        [1, 511, 513, 0, 1023, 1, 2048],
        rng.integers(0, 3000, 60).tolist(),
        [160] * 250,  # 10 ms requests: 0 or 1 frame each
    ):
        got, firsts = stream(model, audio, sizes)
        np.testing.assert_array_equal(got, whole)  # bit for bit
        # first_frame: frames completed before each request
        cuts = np.concatenate([[0], np.cumsum(sizes)])
        cuts = cuts[cuts < audio.size]
        assert firsts == [int(c) // FRAME for c in cuts][: len(firsts)]


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng needed")
def test_speech_is_high_and_silence_low(model) -> None:
    speech = espeak("The quick brown fox jumps over the lazy dog.")
    gap = noise(1.0, 0.001)
    audio = np.concatenate([gap, speech, gap])
    p, _ = stream(model, audio, [4000] * 20)
    silence = np.concatenate([p[: 1000 // 32 - 3], p[-(1000 // 32 - 8) :]])
    assert silence.max() < 0.1, silence.max()
    lo, hi = (16000 + 8000) // FRAME, (16000 + speech.size - 8000) // FRAME  # 0.5 s inside
    assert np.median(p[lo:hi]) > 0.8, np.median(p[lo:hi])


# --- sequences and state ----------------------------------------------------------------------


def test_interleaved_sequences_are_independent(model, vad) -> None:
    a = noise(2.0, 0.25, seed=5)
    b = noise(2.0, 0.01, seed=6)
    solo_a, _ = stream(model, a, [1000] * 40, corrid=11)
    solo_b, _ = stream(model, b, [700] * 60, corrid=12)
    # Both in every batch (slots 0 and 1), in different request sizes.
    out = {11: [], 12: []}
    pos = {11: 0, 12: 0}
    step = {11: 1000, 12: 700}
    data = {11: a, 12: b}
    i = 0
    while pos[11] < a.size or pos[12] < b.size:
        batch = []
        for cid in (11, 12):
            piece = data[cid][pos[cid] : pos[cid] + step[cid]]
            last = pos[cid] + step[cid] >= data[cid].size
            if pos[cid] >= data[cid].size:
                batch.append(null_request())
            else:
                batch.append(Request(piece, cid, start=i == 0, end=last))
            pos[cid] += step[cid]
        for cid, r in zip((11, 12), run(model, *batch), strict=True):
            if r.output_tensors and r.tensor("speech_prob").size:
                out[cid].append(probs(r))
        i += 1
    np.testing.assert_array_equal(np.concatenate(out[11]), solo_a)
    np.testing.assert_array_equal(np.concatenate(out[12]), solo_b)
    assert model.states == {}


def test_end_frees_the_state_and_metrics_count(model) -> None:
    active = "voxgate_vad_active_sequences"
    frames = metric("voxgate_vad_frames_total")
    r = run(model, Request(noise(0.1, 0.1), 7, start=True))[0]
    assert probs(r).size == 1600 // FRAME and first_frame(r) == 0
    assert metric(active) == 1 and set(model.states) == {0}
    r = run(model, Request(noise(0.1, 0.1), 7, end=True))[0]
    assert first_frame(r) == 3 and probs(r).size == 3  # 64 + 1600 samples -> 3 more frames
    assert metric(active) == 0 and model.states == {}
    assert metric("voxgate_vad_sequences_freed_total", reason="end") == 1
    assert metric("voxgate_vad_frames_total") - frames == 6
    # After END the sequence is gone: without a new START it is refused.
    assert "must carry START" in error(run(model, Request(noise(0.1, 0.1), 7))[0])


def test_start_and_end_in_one_request(model) -> None:
    r = run(model, Request(noise(0.2, 0.1), 9, start=True, end=True))[0]
    assert probs(r).size == 3200 // FRAME and first_frame(r) == 0
    assert model.states == {} and metric("voxgate_vad_active_sequences") == 0


def test_string_correlation_ids(model) -> None:
    run(model, Request(noise(0.1, 0.1), "conversation-a", start=True))
    r = run(model, Request(noise(0.1, 0.1), "conversation-a", end=True))[0]
    assert first_frame(r) == 3 and model.states == {}
    message = error(run(model, Request(noise(0.1, 0.1), "conversation-b"))[0])
    assert message.startswith("sequence conversation-b: no state")


def test_a_start_in_a_used_slot_frees_the_old_state(model) -> None:
    # Triton ended sequence 1 (idle or cancelled; the model is not told) and gave its slot
    # to sequence 2: the START of 2 in slot 0 frees the state of 1.
    run(model, Request(noise(0.1, 0.1), 1, start=True))
    run(model, Request(noise(0.1, 0.1), 2, start=True))
    assert metric("voxgate_vad_active_sequences") == 1
    assert metric("voxgate_vad_sequences_freed_total", reason="replaced") == 1
    assert model.states[0].correlation_id == 2
    # A START for a running sequence (Triton: "the previous sequence did not end") restarts it.
    r = run(model, Request(noise(0.1, 0.1), 2, start=True))[0]
    assert first_frame(r) == 0
    assert metric("voxgate_vad_sequences_freed_total", reason="replaced") == 2
    assert metric("voxgate_vad_active_sequences") == 1


def test_states_are_bounded_by_the_slots(model) -> None:
    for rounds in range(3):
        batch = [Request(noise(0.05, 0.1), 100 * rounds + s, start=True) for s in range(64)]
        run(model, *batch)
        assert len(model.states) == 64
    assert metric("voxgate_vad_active_sequences") == 64
    assert metric("voxgate_vad_sequences_freed_total", reason="replaced") == 128


def test_null_requests_are_answered_and_touch_nothing(model) -> None:
    run(model, null_request(), Request(noise(0.1, 0.1), 5, start=True))
    r = run(model, null_request(), null_request())
    assert all(not x.has_error() and x.tensor("speech_prob").size == 0 for x in r)
    assert set(model.states) == {1} and model.states[1].frames == 3


# --- errors -------------------------------------------------------------------------------------


def test_unknown_sequence_is_refused(model) -> None:
    message = error(run(model, Request(noise(0.1, 0.1), 42))[0])
    assert message.startswith("sequence 42: no state") and "START" in message
    assert model.states == {}
    # ...and does not disturb the sequence that holds the slot.
    run(model, Request(noise(0.1, 0.1), 1, start=True))
    assert "no state" in error(run(model, Request(noise(0.1, 0.1), 42))[0])
    assert model.states[0].correlation_id == 1


def test_bad_audio_is_refused_and_changes_nothing(model) -> None:
    audio = noise(1.0, 0.2, seed=8)
    clean, _ = stream(model, audio, [3000] * 6)
    bad = audio[3000:6000].copy()
    bad[17] = np.nan
    got = [probs(run(model, Request(audio[:3000], 4, start=True))[0])]
    assert error(run(model, Request(bad, 4))[0]) == (
        "audio: non-finite sample (NaN or infinity) at index 17"
    )
    bad[17] = np.inf
    assert "non-finite" in error(run(model, Request(bad, 4))[0])
    too_long = np.zeros(320001, np.float32)
    message = error(run(model, Request(too_long, 4))[0])
    assert "320001 samples in one request, the limit is 320000" in message
    for i in range(1, 6):
        got.append(probs(run(model, Request(audio[3000 * i : 3000 * (i + 1)], 4, end=i == 5))[0]))
    np.testing.assert_array_equal(np.concatenate(got), clean)


def test_controls_are_honoured_when_the_audio_is_bad(model) -> None:
    bad = np.full(100, np.nan, np.float32)
    assert "non-finite" in error(run(model, Request(bad, 3, start=True))[0])
    assert model.states[0].frames == 0  # started, nothing scored
    r = run(model, Request(noise(0.1, 0.1), 3))[0]
    assert first_frame(r) == 0 and probs(r).size == 3
    assert "non-finite" in error(run(model, Request(bad, 3, end=True))[0])
    assert model.states == {} and metric("voxgate_vad_active_sequences") == 0


def test_a_fault_is_reported_plainly_and_leaves_the_state(model, monkeypatch) -> None:
    run(model, Request(noise(0.1, 0.1), 6, start=True))
    before = model.states[0].state.copy()

    def broken(*args):
        raise RuntimeError("onnxruntime exploded: details for the log only")

    monkeypatch.setattr(model.vad, "frames", broken)
    assert error(run(model, Request(noise(0.1, 0.1), 6))[0]) == "vad failed (RuntimeError)"
    np.testing.assert_array_equal(model.states[0].state, before)
    assert model.states[0].frames == 3


# --- idle sequences -------------------------------------------------------------------------


def test_idle_states_are_swept_after_twice_the_timeout(model) -> None:
    now = [1000.0]
    model.clock = lambda: now[0]
    run(model, Request(noise(0.1, 0.1), 1, start=True), Request(noise(0.1, 0.1), 2, start=True))
    now[0] += 50.0
    run(model, null_request(), Request(noise(0.1, 0.1), 2))  # 2 stays busy
    now[0] += 11.0  # 1: 61 s idle > 2 x 30 s; 2: 11 s
    model._sweep()
    assert set(model.states) == {1}
    assert metric("voxgate_vad_sequences_freed_total", reason="idle") == 1
    assert metric("voxgate_vad_active_sequences") == 1
    assert "no state" in error(run(model, Request(noise(0.1, 0.1), 1))[0])


def test_the_sweeper_thread_frees_idle_states(vad) -> None:
    m = make_model(vad, _idle(100_000))  # 0.1 s: swept after 0.2 s, checked every 0.25 s
    try:
        run(m, Request(noise(0.1, 0.1), 1, start=True))
        deadline = time.monotonic() + 3
        while m.states and time.monotonic() < deadline:
            time.sleep(0.05)
        assert m.states == {}
        assert metric("voxgate_vad_sequences_freed_total", reason="idle") == 1
    finally:
        m.finalize()
    assert not m.sweeper.is_alive()


def test_finalize_releases_everything(vad) -> None:
    m = make_model(vad)
    run(m, Request(noise(0.1, 0.1), 1, start=True), Request(noise(0.1, 0.1), 2, start=True))
    assert metric("voxgate_vad_active_sequences") == 2
    m.finalize()
    assert m.states == {} and metric("voxgate_vad_active_sequences") == 0
    assert not m.sweeper.is_alive()
