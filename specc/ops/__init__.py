"""The op definitions: one `OpDef` per op, collected into `OPS` (name -> definition).

Adding an op is: its definition in one of these modules (or a new module listed in
MODULES), one NumPy unit in backends/numpy/ops/, one row in backends/torch/ops.py,
one lowering in backends/onnx/lower.py; its `examples` are its conformance cases,
and docs/ops.md is generated from the definitions (tests check both).

The catalog of losses, optimizers, schedules, metrics, initializers and data
sources is re-exported from specc/ops/catalog.py.
"""
from __future__ import annotations

from . import activations, basic, conv, dense, merges, norm, pool, recurrent, sequence
from .base import REQUIRED, Arg, Example, OpDef
from .catalog import AUGMENTS, INITIALIZERS, LOSSES, METRICS, OPTIMIZERS, SCHEDULES, SOURCES

MODULES = (dense, conv, pool, basic, norm, sequence, recurrent, activations, merges)


def _collect() -> dict[str, OpDef]:
    ops: dict[str, OpDef] = {}
    for module in MODULES:
        for value in vars(module).values():
            found = value if isinstance(value, list) else [value]
            for op in found:
                if isinstance(op, OpDef) and op.name:
                    ops[op.name] = op
    return dict(sorted(ops.items(), key=lambda kv: _ORDER.get(kv[1].kind, 9)))


_ORDER = {"layer": 0, "activation": 1, "merge": 2}
OPS: dict[str, OpDef] = _collect()

ACTIVATIONS = frozenset(n for n, s in OPS.items() if s.kind == "activation")
MERGES = frozenset(n for n, s in OPS.items() if s.kind == "merge")
PARAMETRIC = frozenset(n for n, s in OPS.items() if type(s).params is not OpDef.params)

__all__ = ["OPS", "ACTIVATIONS", "MERGES", "PARAMETRIC", "REQUIRED", "Arg", "Example", "OpDef", "INITIALIZERS",
           "LOSSES", "METRICS", "OPTIMIZERS", "SCHEDULES", "SOURCES", "AUGMENTS"]
