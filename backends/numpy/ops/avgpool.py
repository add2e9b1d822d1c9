"""avgpool: mean over each field (no padding, floor)."""
from __future__ import annotations

import numpy as np

from ._base import Op
from ._windows import fold, windows


class AvgPool(Op):
    name = "avgpool"

    def forward(self, x, params, attrs, ctx):
        size, stride = tuple(attrs["size"]), tuple(attrs["stride"])
        y = windows(x, size, stride).mean(axis=(-2, -1))
        return y, (x.shape, size, stride)

    def backward(self, dy, cache):
        shape, size, stride = cache
        share = dy / (size[0] * size[1])
        dwin = np.broadcast_to(share[..., None, None], (*dy.shape, *size))
        return fold(dwin, shape, stride), {}
