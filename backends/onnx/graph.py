"""A small builder for an ONNX graph: nodes, initializers, fresh names.

Lowerings (lower.py) call `node(...)` and `weight(...)`/`const(...)`; the
builder records which spec layer is being lowered so every node carries that
layer's name and source line in its `doc_string`. Initializers are created
only when a node uses them (no unused initializers), and equal constants are
shared.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from specc.ir import Layer


class GraphBuilder:
    """Accumulates nodes and initializers while the layers are lowered in order."""

    def __init__(self, params: dict[str, np.ndarray]):
        self.params = params
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self._consts: dict[tuple, str] = {}
        self._used_names: set[str] = set()
        self.layer: Layer | None = None
        self.doc = ""

    # -- context --------------------------------------------------------
    def enter(self, layer: Layer | None, doc: str | None = None) -> None:
        """Lower the following nodes on behalf of `layer` (names and doc_string)."""
        self.layer = layer
        if doc is not None:
            self.doc = doc
        elif layer is not None:
            p = layer.pos
            self.doc = f"layer {layer.name} ({layer.op}), {p.file}:{p.line}"

    def fresh(self, base: str) -> str:
        """A name not used yet in this graph (base, base_2, base_3, ...)."""
        name, k = base, 1
        while name in self._used_names:
            k += 1
            name = f"{base}_{k}"
        self._used_names.add(name)
        return name

    # -- nodes ----------------------------------------------------------
    def node(self, op_type: str, inputs: list[str], **attrs) -> str:
        """Append one node; returns the name of its (single) output."""
        prefix = self.layer.name if self.layer is not None else "preprocess"
        name = self.fresh(f"{prefix}/{op_type}")
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name,
                                           doc_string=self.doc, **attrs))
        return name

    def node_outputs(self, op_type: str, inputs: list[str], wanted: list[bool], **attrs) -> list[str | None]:
        """Append one node with several outputs; only the `wanted` ones get names (ONNX's "" skips one)."""
        prefix = self.layer.name if self.layer is not None else "preprocess"
        names = [self.fresh(f"{prefix}/{op_type}") if w else "" for w in wanted]
        while names and not names[-1]:
            names.pop()
        self.nodes.append(helper.make_node(op_type, inputs, names, name=self.fresh(f"{prefix}/{op_type}_node"),
                                           doc_string=self.doc, **attrs))
        return [n or None for n in names] + [None] * (len(wanted) - len(names))

    # -- tensors --------------------------------------------------------
    def weight(self, short: str) -> str:
        """The current layer's parameter as an initializer named by its canonical key."""
        key = self.layer.key(short)
        if key not in self.initializers:
            arr = np.ascontiguousarray(self.params[key], dtype=np.float32)
            self._used_names.add(key)
            self.initializers[key] = numpy_helper.from_array(arr, key)
        return key

    def const(self, value, dtype=np.float32, hint: str = "const") -> str:
        """A constant initializer; equal constants (same dtype, shape, bytes) are shared."""
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype))
        sig = (arr.dtype.str, arr.shape, arr.tobytes())
        if sig not in self._consts:
            name = self.fresh(hint)
            self.initializers[name] = numpy_helper.from_array(arr, name)
            self._consts[sig] = name
        return self._consts[sig]

    def rename_output(self, old: str, new: str) -> None:
        """Give the node that produces `old` the output name `new` (the graph output)."""
        for node in self.nodes:
            for i, out in enumerate(node.output):
                if out == old:
                    node.output[i] = new
            for i, inp in enumerate(node.input):
                if inp == old:
                    node.input[i] = new
        self._used_names.add(new)
