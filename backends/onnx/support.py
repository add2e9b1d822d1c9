"""Which ops the ONNX exporter can lower, known before training and without onnx.

`specc check` calls `unexportable(program)` to warn that a model could train but
not export. This module must stay importable without the `onnx` package (the
check command imports neither onnx nor onnxruntime).
"""
from __future__ import annotations

from specc.errors import SpecError as _SpecError
from specc.ir import Program
from specc.ops import OPS

# The ONNX opset the exporter emits (ai.onnx domain), run by onnxruntime >= 1.13.
# Every lowering in lower.py is written against opset-17 signatures (e.g.
# ReduceMax takes `axes` as an attribute; opset 18 moved it to an input).
OPSET = 17

# Which ops lower is part of each op's definition (`OpDef.exportable`); a test holds it
# equal to the keys of lower.OP_TABLE.
SUPPORTED_OPS = frozenset(name for name, op in OPS.items() if op.exportable)


def unexportable(program: Program) -> list[_SpecError]:
    """One SpecError (at the layer's position) per layer the exporter cannot lower."""
    errors = []
    for layer in program.all_layers():
        if layer.op in SUPPORTED_OPS:
            continue
        reason = "the ONNX exporter has no lowering for it"
        errors.append(_SpecError(
            f"layer `{layer.name}` ({layer.op}) cannot be exported to ONNX: {reason}",
            layer.pos, "train with it, but `specc export` will refuse this model",
            program.source_text or None))
    return errors
