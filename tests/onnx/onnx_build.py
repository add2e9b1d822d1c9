"""Test programs for the exporter tests, compiled from spec text (tests/specbuild.py).

`program((1, 8, 8), [("conv2d", dict(filters=3, kernel=3)), ("relu", {}), ...])`
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from specbuild import program  # noqa: E402,F401

from specc.ir import Program  # noqa: E402


def random_params(prog: Program, seed=0) -> dict[str, np.ndarray]:
    """Non-trivial values for every parameter (random biases, positive variances)."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, _layer, p in prog.all_params():
        if p.name == "running_var":
            v = rng.uniform(0.5, 2.0, p.shape)
        elif p.name == "weight" and len(p.shape) > 1:
            v = rng.standard_normal(p.shape) / np.sqrt(max(p.fan_in, 1))
        else:
            v = rng.standard_normal(p.shape) * 0.5
        out[key] = v.astype(np.float32)
    return out
