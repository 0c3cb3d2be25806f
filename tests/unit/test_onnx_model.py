"""The voxgate_onnx Python-based Triton backend, with a stub `triton_python_backend_utils`.

The backend is loaded by file path, as Triton loads it: it must need nothing from voxgate.
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.unit import triton_stub
from tests.unit.triton_stub import InferenceResponse, Tensor

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "triton_backends" / "voxgate_onnx" / "model.py"

# --- the stand-in utilities, with error codes and Triton's data type names -----------------


class TritonError(triton_stub.TritonError):
    """With Triton's error codes: the backend answers a cancelled request with CANCELLED."""

    UNKNOWN = 0
    CANCELLED = 1

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self._code = code

    def code(self) -> int:
        return self._code


class Request:
    def __init__(self, cancelled: bool = False, **inputs: np.ndarray) -> None:
        self.inputs = {k: Tensor(k, v) for k, v in inputs.items()}
        self.cancelled = cancelled

    def is_cancelled(self) -> bool:
        return self.cancelled


_DTYPES = {"TYPE_FP32": np.float32, "TYPE_INT64": np.int64, "TYPE_INT32": np.int32}


@pytest.fixture
def pb_utils() -> types.ModuleType:
    return triton_stub.make_stub(
        TritonError=TritonError, triton_string_to_numpy=lambda s: _DTYPES[s]
    )


@pytest.fixture
def backend(pb_utils) -> types.ModuleType:
    """The backend's model.py, imported from its path with the stub utilities in place."""
    return triton_stub.load_model(BACKEND, "voxgate_onnx_model", pb_utils)


# --- a tiny model: x [B, N] float -> doubled [B, N] = 2x, total [B] int64 = sum(x) ---------


def build_model(path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "N"])
    doubled = helper.make_tensor_value_info("doubled", TensorProto.FLOAT, ["B", "N"])
    total = helper.make_tensor_value_info("total", TensorProto.INT64, ["B"])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["doubled"]),
        helper.make_node("ReduceSum", ["x", "axes"], ["s"], keepdims=0),
        helper.make_node("Cast", ["s"], ["total"], to=TensorProto.INT64),
    ]
    graph = helper.make_graph(nodes, "tiny", [x], [doubled, total], initializer=[two, axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def config(decoupled: bool = False) -> dict:
    return {
        "name": "tiny",
        "backend": "python",
        "max_batch_size": 8,
        "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": ["-1"]}],
        "output": [
            {"name": "doubled", "data_type": "TYPE_FP32", "dims": ["-1"]},
            {"name": "total", "data_type": "TYPE_INT64", "dims": []},
        ],
        "parameters": {"intra_op_threads": {"string_value": "1"}},
        "model_transaction_policy": {"decoupled": decoupled},
    }


class CountingSession:
    """Wraps the onnxruntime session and records each run's batch size."""

    def __init__(self, session) -> None:
        self._session = session
        self.batches: list[int] = []

    def run(self, output_names, feed):
        self.batches.append(next(iter(feed.values())).shape[0])
        return self._session.run(output_names, feed)


@pytest.fixture
def model(backend, tmp_path: Path):
    build_model(tmp_path / "1" / "model.onnx")
    m = backend.TritonPythonModel()
    m.initialize(
        {
            "model_config": json.dumps(config()),
            "model_repository": str(tmp_path),
            "model_version": "1",
        }
    )
    m.session = CountingSession(m.session)
    return m


def check(response: InferenceResponse, x: np.ndarray) -> None:
    assert not response.has_error(), response.error().message()
    doubled, total = response.tensor("doubled"), response.tensor("total")
    assert doubled.dtype == np.float32 and total.dtype == np.int64
    np.testing.assert_allclose(doubled, 2 * x)
    np.testing.assert_array_equal(total, np.trunc(x.sum(axis=1).astype(np.float32)))


def inputs(rows: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-50, 50, (rows, n)).astype(np.float32)


def test_same_shape_requests_run_as_one_batch(model) -> None:
    xs = [inputs(1, 6, i) for i in range(4)]
    responses = model.execute([Request(x=x) for x in xs])
    assert model.session.batches == [4]
    assert len(responses) == 4
    for r, x in zip(responses, xs, strict=True):
        check(r, x)


def test_requests_with_several_rows_split_back(model) -> None:
    xs = [inputs(2, 5, 0), inputs(1, 5, 1), inputs(3, 5, 2)]
    responses = model.execute([Request(x=x) for x in xs])
    assert model.session.batches == [6]
    for r, x in zip(responses, xs, strict=True):
        assert r.tensor("doubled").shape == x.shape
        check(r, x)


def test_different_shapes_run_separately(model) -> None:
    xs = [inputs(1, 4, 0), inputs(1, 7, 1), inputs(1, 4, 2), inputs(2, 7, 3), inputs(1, 9, 4)]
    responses = model.execute([Request(x=x) for x in xs])
    assert sorted(model.session.batches) == [1, 2, 3]
    assert len(model.session.batches) == 3
    for r, x in zip(responses, xs, strict=True):
        check(r, x)


def test_input_converted_to_config_dtype(model) -> None:
    x = inputs(1, 3, 0).astype(np.float64)
    (response,) = model.execute([Request(x=x)])
    check(response, x.astype(np.float32))


def test_cancelled_requests_get_error_and_are_not_run(model, pb_utils) -> None:
    xs = [inputs(1, 4, i) for i in range(4)]
    reqs = [Request(x=x, cancelled=(i in (1, 2))) for i, x in enumerate(xs)]
    responses = model.execute(reqs)
    assert model.session.batches == [2]
    check(responses[0], xs[0])
    check(responses[3], xs[3])
    for i in (1, 2):
        assert responses[i].has_error()
        assert responses[i].error().code() == pb_utils.TritonError.CANCELLED


def test_all_cancelled_runs_nothing(model) -> None:
    responses = model.execute([Request(x=inputs(1, 4, 0), cancelled=True)])
    assert model.session.batches == []
    assert responses[0].has_error()


def test_failed_run_gives_errors_only_to_its_batch(model) -> None:
    bad = np.zeros((1, 4, 2), np.float32)  # wrong rank: onnxruntime rejects it
    good = inputs(1, 4, 0)
    responses = model.execute([Request(x=bad), Request(x=good)])
    assert responses[0].has_error()
    assert "tiny" in responses[0].error().message()
    check(responses[1], good)


def test_failed_run_message_leaks_no_internals(model, pb_utils) -> None:
    (response,) = model.execute([Request(x=np.zeros((1, 4, 2), np.float32))])
    message = response.error().message()
    assert message == "tiny: InvalidArgument", message  # model name and error kind only
    assert "ONNXRuntimeError" in pb_utils.Logger.lines[-1]  # the details go to Triton's log


def test_empty_request_list(model) -> None:
    assert model.execute([]) == []


def test_decoupled_config_rejected(backend, pb_utils, tmp_path: Path) -> None:
    build_model(tmp_path / "1" / "model.onnx")
    m = backend.TritonPythonModel()
    with pytest.raises(pb_utils.TritonModelException):
        m.initialize(
            {
                "model_config": json.dumps(config(decoupled=True)),
                "model_repository": str(tmp_path),
                "model_version": "1",
            }
        )


def test_finalize_drops_session(model) -> None:
    model.finalize()
    assert model.session is None


def test_backend_imports_nothing_from_voxgate() -> None:
    """Triton's stub may run in a Python without voxgate: numpy and onnxruntime only."""
    imported = triton_stub.top_level_imports(BACKEND)
    allowed = {"__future__", "json", "pathlib", "numpy", "onnxruntime"}
    assert imported - allowed == {"triton_python_backend_utils"}


def test_repository_has_no_per_model_python() -> None:
    """The ONNX leaves' CPU configs name the backend; their version folders hold only the ONNX
    files (decoupled generators such as tts_generator have a model.py of their own)."""
    leaves = [p.parent for p in (ROOT / "triton_models").glob("*/configs")]
    assert leaves
    assert not [leaf for leaf in leaves if (leaf / "1" / "model.py").exists()]


def test_session_options_keep_no_arena_unless_asked(backend) -> None:
    plain = backend.session_options({})
    assert not plain.enable_cpu_mem_arena  # memory goes back after each run
    assert (plain.intra_op_num_threads, plain.inter_op_num_threads) == (1, 1)
    assert plain.graph_optimization_level == backend.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    tuned = backend.session_options({"cpu_mem_arena": "True", "intra_op_threads": "2"})
    assert tuned.enable_cpu_mem_arena and tuned.intra_op_num_threads == 2
