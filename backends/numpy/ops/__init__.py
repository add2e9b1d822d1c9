"""One unit per op: forward and backward side by side, collected here.

Adding an op = its file in this folder (an `Op` subclass with a `name`); it is
found by scanning the package, so no registry line is needed. The conformance
suite (tests/conformance) fails when an op of specc.ops.OPS has no unit here or
a unit names no op.
"""
from __future__ import annotations

import importlib
import pkgutil

from ._base import Context, Op


def _collect() -> dict[str, Op]:
    ops: dict[str, Op] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Op) and value.name and value.__module__ == module.__name__:
                ops[value.name] = value()
    return ops


OPS: dict[str, Op] = _collect()

__all__ = ["OPS", "Op", "Context"]
