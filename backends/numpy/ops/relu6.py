"""relu6: y = min(max(x, 0), 6); gradient 1 strictly inside (0, 6), 0 elsewhere (PyTorch's hardtanh rule)."""
from __future__ import annotations

import numpy as np

from ._base import Op


class ReLU6(Op):
    name = "relu6"

    def forward(self, x, params, attrs, ctx):
        return np.clip(x, 0, 6), (x > 0) & (x < 6)

    def backward(self, dy, inside):
        return dy * inside, {}
