"""triton_models/stream_tokenizer/1/model.py with a stub `triton_python_backend_utils`.

Loaded by file path, as Triton loads it; it runs the committed frontend.onnx and head.onnx on
onnxruntime. Requests are stand-ins for what the sequence batcher hands a Python model (the
START/END/READY controls, the correlation id), a batch's requests in slot order as the direct
strategy sends them. The reference for every id is the joint tokenizer run on the whole
recording (itself checked against the two tokenizers and numpy in test_reference_models).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2 as mc

from tests.conftest import speechlike
from tests.unit import triton_stub

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "triton_models" / "stream_tokenizer"
PB_UTILS = triton_stub.make_stub(metric=triton_stub.IncrementOnlyMetric)
metric = PB_UTILS.MetricFamily.value
ACTIVE = "voxgate_stream_tokenizer_active_sequences"
FREED = "voxgate_stream_tokenizer_sequences_freed_total"


class Request(triton_stub.SequenceRequest):
    def __init__(self, wav, corrid=1, *, start=False, end=False, ready=True) -> None:
        wav = np.asarray(wav, np.float32).reshape(1, -1)
        super().__init__(corrid, start=start, end=end, ready=ready, waveform=wav)


def config(**changes) -> dict:
    cfg = text_format.Parse((FOLDER / "config.pbtxt").read_text(), mc.ModelConfig())
    out = json_format.MessageToDict(cfg, preserving_proto_field_name=True)
    out.update(changes)
    return out


@pytest.fixture(scope="module")
def module():
    return triton_stub.load_model(FOLDER / "1" / "model.py", "stream_tokenizer_model", PB_UTILS)


@pytest.fixture
def model(module):
    m = module.TritonPythonModel()
    m.initialize(
        {
            "model_config": json.dumps(config()),
            "model_repository": str(FOLDER),
            "model_version": "1",
        }
    )
    yield m
    m.finalize()


@pytest.fixture(scope="module")
def joint():
    path = ROOT / "triton_models" / "joint_tokenizer" / "1" / "model.onnx"
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def whole(joint, wav: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The joint tokenizer on the whole recording, cut to whole groups (as Tokenize returns)."""
    ling, sem = joint.run(None, {"waveform": wav[None].astype(np.float32)})
    groups = len(wav) // 1920
    return ling[0][: 2 * groups], sem[0][: 3 * groups]


def ids(response) -> tuple[np.ndarray, np.ndarray, int]:
    assert not response.has_error(), response.error().message()
    return (
        response.tensor("linguistic_tokens").reshape(-1),
        response.tensor("semantic_tokens").reshape(-1),
        int(response.tensor("first_group").reshape(-1)[0]),
    )


def run_streams(model, streams: dict[int, list[np.ndarray]]) -> dict[int, tuple]:
    """Sends every stream's pieces, one piece per stream per batch (slot = position), the last
    with END; returns each stream's ids, checking that groups come back in order."""
    got = {k: ([], [], 0) for k in streams}
    slots = list(streams)
    for step in range(max(len(p) for p in streams.values())):
        batch = []
        for k in slots:
            pieces = streams[k]
            if step < len(pieces):
                batch.append(Request(pieces[step], k, start=step == 0, end=step == len(pieces) - 1))
            else:
                batch.append(Request(np.zeros(3), 0, ready=False))  # a slot with nothing to run
        for k, response in zip(slots, model.execute(batch), strict=True):
            if step < len(streams[k]):
                ling, sem, first = ids(response)
                lings, sems, done = got[k]
                assert first == done
                got[k] = ([*lings, ling], [*sems, sem], done + len(ling) // 2)
    return {k: (np.concatenate(a), np.concatenate(b)) for k, (a, b, _) in got.items()}


def pieces(wav: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    cuts = np.sort(rng.choice(np.arange(1, len(wav)), size=int(rng.integers(1, 12)), replace=False))
    return np.split(wav, cuts)


def test_streams_in_any_pieces_give_the_whole_recordings_ids(model, joint):
    rng = np.random.default_rng(5)
    wavs = {
        k: speechlike(float(rng.uniform(0.05, 4.0)), seed=k) * float(rng.uniform(0.05, 1.5))
        for k in range(1, 9)
    }
    wavs[9] = np.zeros(1919, np.float32)  # less than a group: no ids
    wavs[10] = np.zeros(1920 * 3, np.float32)  # silence: ids all the same, three groups
    streams = {k: pieces(w.clip(-1, 1).astype(np.float32), rng) for k, w in wavs.items()}
    got = run_streams(model, streams)
    for k, wav in wavs.items():
        ling, sem = whole(joint, wav.clip(-1, 1))
        np.testing.assert_array_equal(got[k][0], ling, err_msg=f"stream {k}")
        np.testing.assert_array_equal(got[k][1], sem, err_msg=f"stream {k}")
    assert metric(ACTIVE) == 0 and metric(FREED, reason="end") >= len(wavs)


def test_groups_come_back_once_their_look_ahead_has_arrived(model, joint):
    wav = speechlike(2.0, seed=3)
    # a group needs 3552 samples after it (W = 10 sub-frames of analysis, a 1024-sample frame)
    (r,) = model.execute([Request(wav[: 1920 + 3551], 7, start=True)])
    assert len(ids(r)[0]) == 0
    (r,) = model.execute([Request(wav[1920 + 3551 : 1920 + 3552], 7)])
    ling, sem, first = ids(r)
    assert (len(ling), len(sem), first) == (2, 3, 0)
    np.testing.assert_array_equal(sem, whole(joint, wav)[1][:3])
    model.execute([Request(np.zeros(0), 7, end=True)])


def test_one_frontend_run_serves_every_stream_of_a_batch(model):
    calls = []
    real = model.frontend.run
    model.frontend.run = lambda *a, **k: calls.append(a[1]["frames"].shape) or real(*a, **k)
    batch = [Request(speechlike(0.5, seed=k), k, start=True) for k in range(1, 17)]
    responses = model.execute(batch)
    assert len(calls) == 1 and calls[0][1] > 16 * 10  # all streams' frames in one run
    assert all(len(ids(r)[0]) == 2 * 2 for r in responses)  # 0.5 s: 2 groups final each
    model.execute([Request(np.zeros(0), k, end=True) for k in range(1, 17)])
    assert metric(ACTIVE) == 0


def test_bad_requests_are_refused_and_state_is_freed(model):
    (r,) = model.execute([Request(np.zeros(100), 41)])  # no START
    assert r.has_error() and "no state" in r.error().message()
    (r,) = model.execute([Request(np.full(10, np.nan), 42, start=True)])
    assert r.has_error() and "non-finite" in r.error().message()
    (r,) = model.execute([Request(np.zeros(320001), 42)])
    assert r.has_error() and "limit is 320000" in r.error().message()
    freed = metric(FREED, reason="replaced")
    model.execute([Request(np.zeros(10), 43, start=True)])  # a new stream in the same slot
    assert metric(FREED, reason="replaced") == freed + 1 and metric(ACTIVE) == 1
    model.clock = lambda: 1e12  # long idle: the sweep frees it
    model._sweep()
    assert metric(ACTIVE) == 0


def test_the_declared_look_ahead_must_be_the_models(module, model):
    assert model.layout.lookahead == 3552  # W = 10 sub-frames of 320, a 1024-sample frame
    cfg = config()
    cfg["parameters"]["lookahead_samples"] = {"string_value": "3840"}
    with pytest.raises(triton_stub.TritonModelException, match="lookahead_samples"):
        module.TritonPythonModel().initialize(
            {"model_config": json.dumps(cfg), "model_repository": str(FOLDER), "model_version": "1"}
        )


def test_config_must_be_a_direct_sequence_batcher(module):
    m = module.TritonPythonModel()
    cfg = config()
    cfg["sequence_batching"].pop("direct")
    with pytest.raises(triton_stub.TritonModelException, match="direct"):
        m.initialize(
            {"model_config": json.dumps(cfg), "model_repository": str(FOLDER), "model_version": "1"}
        )


def test_needs_nothing_from_voxgate():
    imported = triton_stub.top_level_imports(FOLDER / "1" / "model.py")
    assert "voxgate" not in imported
