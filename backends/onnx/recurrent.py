"""rnn / lstm / gru lowered onto ONNX's RNN / LSTM / GRU operators (opset 17, layout 0).

The canonical weights are PyTorch's; ONNX stacks the gates in another order and
packs the directions and both biases together, so the exporter writes converted
initializers: W [dirs, G·H, D], R [dirs, G·H, H], B [dirs, 2·G·H] (input bias then
hidden bias). Gate orders: PyTorch LSTM i, f, g, o -> ONNX i, o, f, c; PyTorch GRU
r, z, n -> ONNX z, r, h with linear_before_reset=1 (PyTorch's reset after the hidden
matmul). A padding mask becomes `sequence_lens` (mask.sum(1)), PyTorch's packed
semantics. onnxruntime runs only layout 0 ([T, N, D]), hence the transposes.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto

from .graph import GraphBuilder

OP_TYPES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
ONNX_ORDER = {"rnn": (0,), "lstm": (0, 3, 1, 2), "gru": (1, 0, 2)}  # PyTorch gate blocks in ONNX's order


def _reorder(w: np.ndarray, order) -> np.ndarray:
    blocks = np.split(w, len(order), axis=0)
    return np.concatenate([blocks[k] for k in order], axis=0)


def _weights(g: GraphBuilder, layer) -> tuple[str, str, str]:
    """The W, R, B initializers in ONNX's layout and gate order."""
    order, suffixes = ONNX_ORDER[layer.op], ("", "_reverse") if layer.attrs["bidirectional"] else ("",)
    p = lambda short: np.asarray(g.params[layer.key(short)], np.float32)  # noqa: E731
    w = np.stack([_reorder(p("weight_ih_l0" + s), order) for s in suffixes])
    r = np.stack([_reorder(p("weight_hh_l0" + s), order) for s in suffixes])
    b = np.stack([np.concatenate([_reorder(p("bias_ih_l0" + s), order), _reorder(p("bias_hh_l0" + s), order)])
                  for s in suffixes])
    return (g.const(w, hint=f"{layer.name}.W"), g.const(r, hint=f"{layer.name}.R"),
            g.const(b, hint=f"{layer.name}.B"))


def lower(g: GraphBuilder, layer, x: str, mask: str | None = None) -> str:
    a = layer.attrs
    inputs = [g.node("Transpose", [x], perm=[1, 0, 2]), *_weights(g, layer)]   # [N, T, D] -> [T, N, D]
    if mask is not None:
        counts = g.node("Cast", [mask], to=TensorProto.INT32)
        lengths = g.node("ReduceSum", [counts, g.const([1], np.int64, "time_axis")], keepdims=0)
        inputs.append(lengths)
    attrs = {"hidden_size": a["units"], "direction": "bidirectional" if a["bidirectional"] else "forward"}
    if layer.op == "gru":
        attrs["linear_before_reset"] = 1
    if layer.op == "rnn":
        attrs["activations"] = [{"tanh": "Tanh", "relu": "Relu"}[a["act"]]] * (2 if a["bidirectional"] else 1)
    y, y_h = g.node_outputs(OP_TYPES[layer.op], inputs, [a["sequences"], not a["sequences"]], **attrs)
    if a["sequences"]:  # Y [T, dirs, N, H] -> [N, T, dirs*H]
        y = g.node("Transpose", [y], perm=[2, 0, 1, 3])
        return g.node("Reshape", [y, g.const([0, 0, -1], np.int64, "merge_directions")])
    y_h = g.node("Transpose", [y_h], perm=[1, 0, 2])  # Y_h [dirs, N, H] -> [N, dirs*H], forward first
    return g.node("Reshape", [y_h, g.const([0, -1], np.int64, "merge_directions_last")])
