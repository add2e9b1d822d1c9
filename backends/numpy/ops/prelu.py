"""prelu: leaky relu whose negative slope is the learned parameter `weight` [1]."""
from __future__ import annotations

import numpy as np

from ._base import Op


class PReLU(Op):
    name = "prelu"

    def forward(self, x, params, attrs, ctx):
        w = params["weight"]
        pos = x > 0
        return np.where(pos, x, w * x), (x, pos, w)

    def backward(self, dy, cache):
        x, pos, w = cache
        dw = np.where(pos, 0, dy * x).sum().reshape(1).astype(w.dtype)
        return np.where(pos, dy, w * dy), {"weight": dw}
