"""voxgate_onnx: a Triton Python-based backend that runs a model's `<version>/model.onnx`.

Triton loads this file for every model whose config says `backend: "voxgate_onnx"`, when the
folder `<backend-directory>/voxgate_onnx/` holds it and `<backend-directory>/python/` holds the
Python backend (libtriton_python.so, triton_python_backend_utils.py and the stub). It needs
only numpy and onnxruntime in the stub's Python environment, nothing from voxgate.

On CPU, Triton from PyPI has no onnxruntime backend, so the CPU configs use this one; the GPU
configs serve the same ONNX files with Triton's onnxruntime backend. Tensor names and dtypes
come from the model config; requests of equal shape that Triton's dynamic batcher hands over
together run as one batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


def _log_error(message: str) -> None:
    logger = getattr(pb_utils, "Logger", None)  # absent outside a real stub
    if logger is not None:
        logger.log_error(message)


def session_options(params: dict[str, str]) -> ort.SessionOptions:
    """onnxruntime settings for a model's `parameters`.

    The CPU memory arena is off unless `cpu_mem_arena` is "true": with it, a stub keeps the
    largest batch it ever ran (8 x 10 s clips: ~1.2 GB per tokenizer stub, held for good);
    without it, memory goes back after each run (bench/perf: held 424 -> ~125 MB, peak
    427 -> ~310 MB for both tokenizers on a 10 s clip, run time within the machine's noise).
    Memory patterns stay on: they are per input shape and reuse the plan for repeated shapes.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(params.get("intra_op_threads", "1"))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = params.get("cpu_mem_arena", "false").lower() == "true"
    return options


class TritonPythonModel:
    """Serves one ONNX file; tensor names and dtypes come from the model config."""

    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        self.name = config["name"]
        if pb_utils.using_decoupled_model_transaction_policy(config):
            raise pb_utils.TritonModelException(f"{self.name} must not be decoupled")
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        options = session_options(params)
        path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [
            (i["name"], pb_utils.triton_string_to_numpy(i["data_type"])) for i in config["input"]
        ]
        self.outputs = [
            (o["name"], pb_utils.triton_string_to_numpy(o["data_type"])) for o in config["output"]
        ]

    def execute(self, requests: list) -> list:
        responses: list = [None] * len(requests)
        batches: dict[tuple, list[int]] = {}
        feeds = []
        for i, request in enumerate(requests):
            feed = {
                name: pb_utils.get_input_tensor_by_name(request, name).as_numpy().astype(dtype)
                for name, dtype in self.inputs
            }
            feeds.append(feed)
            key = tuple(feed[name].shape[1:] for name, _ in self.inputs)
            batches.setdefault(key, []).append(i)
        for members in batches.values():
            alive = [i for i in members if not requests[i].is_cancelled()]
            for i in set(members) - set(alive):
                responses[i] = pb_utils.InferenceResponse(
                    error=pb_utils.TritonError("request cancelled", pb_utils.TritonError.CANCELLED)
                )
            if not alive:
                continue
            stacked = {
                name: np.concatenate([feeds[i][name] for i in alive]) for name, _ in self.inputs
            }
            try:
                results = self.session.run([n for n, _ in self.outputs], stacked)
            except Exception as err:  # onnxruntime raises its own exception types
                # The details go to Triton's log; the client sees only the model and error kind.
                _log_error(f"{self.name}: onnxruntime failed: {err}")
                for i in alive:
                    responses[i] = pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(f"{self.name}: {type(err).__name__}")
                    )
                continue
            offset = 0
            for i in alive:
                n = feeds[i][self.inputs[0][0]].shape[0]
                tensors = [
                    pb_utils.Tensor(name, np.ascontiguousarray(r[offset : offset + n], dtype))
                    for (name, dtype), r in zip(self.outputs, results, strict=True)
                ]
                responses[i] = pb_utils.InferenceResponse(output_tensors=tensors)
                offset += n
        return responses

    def finalize(self) -> None:
        self.session = None
