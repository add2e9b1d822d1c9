"""Which ops the ONNX exporter can lower, known before training and without onnx.

`specc check` calls `unexportable(program)` to warn that a model could train but
not export. This module must stay importable without the `onnx` package (the
check command imports neither onnx nor onnxruntime); the lowering table in
`lower.py` is keyed by exactly `SUPPORTED_OPS`, and a test holds them equal.
"""
from __future__ import annotations

from specc.errors import SpecError as _SpecError
from specc.ir import Program

# The ONNX opset the exporter emits (ai.onnx domain), run by onnxruntime >= 1.13.
# Every lowering in lower.py is written against opset-17 signatures (e.g.
# ReduceMax takes `axes` as an attribute; opset 18 moved it to an input).
OPSET = 17

SUPPORTED_OPS = frozenset({
    "dense", "conv2d", "maxpool", "avgpool", "l2pool", "flatten", "dropout",
    "batchnorm", "maxout", "residual",
    "identity", "step", "sigmoid", "tanh", "scaled_tanh", "hard_sigmoid", "relu",
    "leaky_relu", "prelu", "elu", "selu", "softplus", "softmax", "log_softmax",
})

# Ops of specc.ops.OPS that are deliberately not exported, with the reason.
# (Empty today: every v1 op lowers. Later ops such as rnn/lstm go here until
# they have a lowering.)
UNSUPPORTED: dict[str, str] = {}


def unexportable(program: Program) -> list[_SpecError]:
    """One SpecError (at the layer's position) per layer the exporter cannot lower."""
    errors = []
    for layer in program.all_layers():
        if layer.op in SUPPORTED_OPS:
            continue
        reason = UNSUPPORTED.get(layer.op, "the ONNX exporter has no lowering for it")
        errors.append(_SpecError(
            f"layer `{layer.name}` ({layer.op}) cannot be exported to ONNX: {reason}",
            layer.pos, "train with it, but `specc export` will refuse this model",
            program.source_text or None))
    return errors
