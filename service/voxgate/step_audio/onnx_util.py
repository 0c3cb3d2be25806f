"""Small helpers for building ONNX graphs node by node (opset 17, IR 9, as the reference)."""

from __future__ import annotations

import itertools

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 9


class Graph:
    """Collects nodes and constants; `op` returns the name of the node's (first) output."""

    def __init__(self, prefix: str, opset: int = OPSET) -> None:
        self.prefix = prefix
        self.opset = opset
        self.ir_version = IR_VERSION
        self.functions: list[onnx.FunctionProto] = []
        self.extra_opsets: dict[str, int] = {}  # custom domains of inlined graphs
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._ids = itertools.count()

    def name(self, hint: str) -> str:
        return f"{self.prefix}/{hint}_{next(self._ids)}"

    def const(self, value, dtype=np.float32, hint: str = "c") -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, out: str | None = None, **attrs):
        names = [out] if out and outputs == 1 else [self.name(op_type) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attrs))
        return names[0] if outputs == 1 else names

    def reduce_max(self, x: str, axes: list[int]) -> str:
        if self.opset >= 18:  # axes became an input in opset 18
            return self.op("ReduceMax", x, self.const(axes, np.int64), keepdims=1)
        return self.op("ReduceMax", x, axes=axes, keepdims=1)

    def model(self, inputs: list, outputs: list, doc: str = "") -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.prefix, inputs, outputs, self.initializers)
        domains = {f.domain: 1 for f in self.functions if f.domain} | self.extra_opsets
        opsets = [helper.make_opsetid("", self.opset)]
        opsets += [helper.make_opsetid(d, v) for d, v in sorted(domains.items())]
        model = helper.make_model(graph, opset_imports=opsets, functions=self.functions)
        model.ir_version = self.ir_version
        model.doc_string = doc
        return model


def value(name: str, dtype: int, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


FLOAT, INT32, INT64 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64
