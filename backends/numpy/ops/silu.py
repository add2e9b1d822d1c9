"""silu (swish): y = x σ(x); dy/dx = σ(x) (1 + x (1 - σ(x)))."""
from __future__ import annotations

from ._base import Op, stable_sigmoid


class SiLU(Op):
    name = "silu"

    def forward(self, x, params, attrs, ctx):
        s = stable_sigmoid(x)
        return x * s, (x, s)

    def backward(self, dy, cache):
        x, s = cache
        return dy * (s * (1 + x * (1 - s))), {}
