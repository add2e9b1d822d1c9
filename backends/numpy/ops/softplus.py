"""softplus: y = log(1 + exp(x)) in the overflow-free form; dy/dx = sigmoid(x)."""
from __future__ import annotations

from ._base import Op, softplus, stable_sigmoid


class Softplus(Op):
    name = "softplus"

    def forward(self, x, params, attrs, ctx):
        return softplus(x), x

    def backward(self, dy, x):
        return dy * stable_sigmoid(x), {}
