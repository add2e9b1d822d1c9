"""sigmoid(steepness s): y = 1 / (1 + exp(-s x)), computed without overflow."""
from __future__ import annotations

from ._base import Op, stable_sigmoid


class Sigmoid(Op):
    name = "sigmoid"

    def forward(self, x, params, attrs, ctx):
        s = float(attrs["steepness"])
        y = stable_sigmoid(x * s if s != 1.0 else x)
        return y, (y, s)

    def backward(self, dy, cache):
        y, s = cache
        return dy * (s * y * (1 - y)), {}
