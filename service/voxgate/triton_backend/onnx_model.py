"""A Triton Python-backend model that runs `1/model.onnx` with onnxruntime.

On CPU Triton from PyPI has no onnxruntime backend, so each ONNX model is served by this class;
on GPU the same file is served by Triton's onnxruntime backend (configs/gpu.pbtxt). Requests
of equal shape that Triton's dynamic batcher hands over together run as one batch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

try:  # provided by the Triton Python backend stub at run time
    import triton_python_backend_utils as pb_utils
except ImportError:  # pragma: no cover - unit tests install a stub module first
    pb_utils = None


class OnnxModel:
    """Serves one ONNX file; tensor names and dtypes come from the model config."""

    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        if pb_utils.using_decoupled_model_transaction_policy(config):
            raise pb_utils.TritonModelException(f"{config['name']} must not be decoupled")
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        threads = int(params.get("intra_op_threads", "1"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = [
            (i["name"], pb_utils.triton_string_to_numpy(i["data_type"])) for i in config["input"]
        ]
        self.outputs = [
            (o["name"], pb_utils.triton_string_to_numpy(o["data_type"])) for o in config["output"]
        ]
        self.name = config["name"]

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
