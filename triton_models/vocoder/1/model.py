"""Triton Python-backend model: runs 1/model.onnx of this folder with onnxruntime."""

from voxgate.triton_backend.onnx_model import OnnxModel as TritonPythonModel

__all__ = ["TritonPythonModel"]
