"""hard_swish: y = x · relu6(x + 3) / 6; dy/dx = 0 up to -3, x/3 + 1/2 strictly inside (-3, 3), 1 from 3 (PyTorch's)."""
from __future__ import annotations

import numpy as np

from ._base import Op


class HardSwish(Op):
    name = "hard_swish"

    def forward(self, x, params, attrs, ctx):
        return x * np.clip(x + 3, 0, 6) / 6, x

    def backward(self, dy, x):
        slope = np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1)).astype(dy.dtype, copy=False)
        return dy * slope, {}
