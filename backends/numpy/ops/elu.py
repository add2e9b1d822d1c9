"""elu(alpha): y = x for x > 0, alpha (exp(x) - 1) otherwise (expm1 of min(x, 0): no overflow)."""
from __future__ import annotations

import numpy as np

from ._base import Op


class ELU(Op):
    name = "elu"

    def forward(self, x, params, attrs, ctx):
        a = float(attrs["alpha"])
        pos = x > 0
        y = np.where(pos, x, a * np.expm1(np.minimum(x, 0)))
        return y, (pos, y, a)

    def backward(self, dy, cache):
        pos, y, a = cache
        return np.where(pos, dy, dy * (y + a)), {}  # d/dx alpha(e^x - 1) = y + alpha
