"""leaky_relu(alpha): y = x for x > 0, alpha x otherwise."""
from __future__ import annotations

import numpy as np

from ._base import Op


class LeakyReLU(Op):
    name = "leaky_relu"

    def forward(self, x, params, attrs, ctx):
        a = float(attrs["alpha"])
        pos = x > 0
        return np.where(pos, x, a * x), (pos, a)

    def backward(self, dy, cache):
        pos, a = cache
        return np.where(pos, dy, a * dy), {}
