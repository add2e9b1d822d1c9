"""relu: y = max(x, 0); gradient 1 where x > 0 (0 at the kink, like PyTorch)."""
from __future__ import annotations

import numpy as np

from ._base import Op


class ReLU(Op):
    name = "relu"

    def forward(self, x, params, attrs, ctx):
        y = np.maximum(x, 0)
        return y, y

    def backward(self, dy, y):
        return dy * (y > 0), {}
