"""A stand-in for the Triton Python backend's `triton_python_backend_utils`, for unit tests.

A Triton Python model imports `triton_python_backend_utils` (pb_utils), which exists only in
Triton's stub process. The unit tests load a model.py by file path, as Triton loads it, with
this stand-in in its place: `make_stub()` builds a fresh module (with a metric registry and a
log of its own, so that nothing leaks from one test file to another) and `load_model()` imports
the model.py with it. What differs between models (their metrics' rules, a BLS call, error
codes) is passed to `make_stub()` by the test file that needs it.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import threading
import types
from pathlib import Path
from typing import ClassVar

import numpy as np

PB_UTILS = "triton_python_backend_utils"
FINAL = 1  # pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL


class Tensor:
    def __init__(self, name: str, array: np.ndarray) -> None:
        self._name, self._array = name, array

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array


class TritonError:
    def __init__(self, message: str) -> None:
        self._message = message

    def message(self) -> str:
        return self._message


class InferenceResponse:
    def __init__(self, output_tensors=None, error: TritonError | None = None) -> None:
        self.output_tensors = output_tensors or []
        self._error = error

    def has_error(self) -> bool:
        return self._error is not None

    def error(self) -> TritonError | None:
        return self._error

    def tensor(self, name: str) -> np.ndarray:
        return next(t.as_numpy() for t in self.output_tensors if t.name() == name)


class TritonModelException(Exception):
    pass


class Metric:
    """One metric (one label set) of a family: a counter only goes up, set() moves a gauge."""

    def __init__(self, family: str, kind: str) -> None:
        self.family, self.kind = family, kind
        self.value = 0.0

    def increment(self, v: float) -> None:
        assert v >= 0 or self.kind == MetricFamily.GAUGE, "a counter only goes up"
        self.value += v

    def set(self, v: float) -> None:
        assert self.kind == MetricFamily.GAUGE, "only a gauge is set"
        self.value = v


class IncrementOnlyMetric(Metric):
    """For a model whose instances share one gauge, each adding and taking off its own part:
    set() from one instance would overwrite the others' parts, so set() is a bug there."""

    def set(self, v: float) -> None:
        raise AssertionError(f"{self.family}: must not set(): the instances' gauges add up")


class MetricFamily:
    """A family registers itself under its name in its stub's registry (`families`, made by
    make_stub); a family made again under the same name replaces the old one there."""

    COUNTER, GAUGE = "counter", "gauge"
    families: ClassVar[dict[str, MetricFamily]]  # one registry per stub: see make_stub
    metric_class: ClassVar[type[Metric]] = Metric

    def __init__(self, name: str, description: str, kind: str) -> None:
        self.name, self.kind = name, kind
        self.metrics: dict[tuple, Metric] = {}
        type(self).families[name] = self

    def Metric(self, labels: dict) -> Metric:  # Triton's name
        key = tuple(sorted(labels.items()))
        if key not in self.metrics:
            self.metrics[key] = self.metric_class(self.name, self.kind)
        return self.metrics[key]

    @classmethod
    def value(cls, name: str, **labels: str) -> float:
        """The value of `name{labels}` in this stub's registry."""
        return cls.families[name].metrics[tuple(sorted(labels.items()))].value


class Logger:
    lines: ClassVar[list[str]]  # one log per stub: see make_stub

    @classmethod
    def log_info(cls, m: str) -> None:
        cls.lines.append(m)

    log_warn = log_error = log_verbose = log_info


def make_stub(*, metric: type[Metric] = Metric, **extra: object) -> types.ModuleType:
    """A fresh `triton_python_backend_utils`. Its MetricFamily and Logger are classes of its
    own, with an empty registry (`stub.MetricFamily.value(name, **labels)` reads it) and an
    empty log (`stub.Logger.lines`); its families make `metric`s. `extra` adds or replaces
    module attributes (e.g. InferenceRequest for a model that makes BLS calls)."""
    m = types.ModuleType(PB_UTILS)
    m.Tensor = Tensor
    m.TritonError = TritonError
    m.InferenceResponse = InferenceResponse
    m.TritonModelException = TritonModelException
    m.MetricFamily = type("MetricFamily", (MetricFamily,), {"families": {}, "metric_class": metric})
    m.Logger = type("Logger", (Logger,), {"lines": []})
    m.TRITONSERVER_RESPONSE_COMPLETE_FINAL = FINAL
    m.get_input_tensor_by_name = lambda request, name: request.inputs.get(name)
    m.get_output_tensor_by_name = lambda response, name: next(
        (t for t in response.output_tensors if t.name() == name), None
    )
    m.using_decoupled_model_transaction_policy = lambda cfg: bool(
        cfg.get("model_transaction_policy", {}).get("decoupled", False)
    )
    for name, value in extra.items():
        setattr(m, name, value)
    return m


def load_model(
    path: Path, module_name: str, stub: types.ModuleType | None = None
) -> types.ModuleType:
    """The model.py at `path` imported from its path as `module_name`, with `stub` (a fresh
    make_stub() if None) as `triton_python_backend_utils`; sys.modules is put back as it was
    afterwards (the model keeps its own reference to the stub)."""
    saved = sys.modules.get(PB_UTILS)
    sys.modules[PB_UTILS] = make_stub() if stub is None else stub
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        if saved is None:
            sys.modules.pop(PB_UTILS, None)
        else:
            sys.modules[PB_UTILS] = saved


def top_level_imports(path: Path) -> set[str]:
    """The top-level packages the Python file at `path` imports (to check that a model needs
    nothing from voxgate: Triton's stub may run in a Python without it)."""
    tree = ast.parse(path.read_text())
    imported = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    imported |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    return imported


class ResponseSender:
    """A decoupled model's response sender: keeps the responses and the flags; the request is
    cancelled once `cancel_after` responses are sent (never if None)."""

    def __init__(self, cancel_after: int | None = None) -> None:
        self.responses: list[InferenceResponse] = []
        self.flags: list[int] = []
        self.cancel_after = cancel_after
        self.checks = 0
        self.done = threading.Event()

    def send(self, response=None, flags: int = 0) -> None:
        if response is not None:
            self.responses.append(response)
        if flags:
            self.flags.append(flags)
            self.done.set()

    def is_cancelled(self) -> bool:
        self.checks += 1
        return self.cancel_after is not None and len(self.responses) >= self.cancel_after


class SequenceRequest:
    """A request as Triton's sequence batcher hands it to a Python model: its inputs, the
    START/END/READY control tensors (INT32 [1, 1], 0 or 1) and the correlation id."""

    def __init__(
        self,
        corrid: int | str,
        *,
        start: bool = False,
        end: bool = False,
        ready: bool = True,
        **inputs: np.ndarray,
    ) -> None:
        self._corrid = corrid
        controls = {"START": start, "END": end, "READY": ready}
        self.inputs = {k: Tensor(k, np.array([[int(v)]], np.int32)) for k, v in controls.items()}
        self.inputs.update((k, Tensor(k, v)) for k, v in inputs.items())

    def correlation_id(self):
        return self._corrid

    def request_id(self) -> str:
        return f"r-{self._corrid}"
