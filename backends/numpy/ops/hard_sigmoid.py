"""hard_sigmoid: y = clip(x, 0, 1); gradient 1 strictly inside (0, 1), 0 outside (PyTorch's hardtanh rule)."""
from __future__ import annotations

import numpy as np

from ._base import Op


class HardSigmoid(Op):
    name = "hard_sigmoid"

    def forward(self, x, params, attrs, ctx):
        return np.clip(x, 0, 1), (x > 0) & (x < 1)

    def backward(self, dy, inside):
        return dy * inside, {}
