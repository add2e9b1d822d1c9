"""l2pool: sqrt of the sum of squares over each field (floor; padding is 0).

d y / d x = x / y. Where a whole field is zero (y = 0) the derivative is
undefined; we use 0 there (the subgradient at the cone's tip) instead of NaN.
"""
from __future__ import annotations

import numpy as np

from ._base import Op
from ._windows import fold, pad_image, unpad, windows


class L2Pool(Op):
    name = "l2pool"

    def forward(self, x, params, attrs, ctx):
        size, stride, pad = tuple(attrs["size"]), tuple(attrs["stride"]), tuple(attrs["pad"])
        if any(pad):
            x = pad_image(x, pad)
        win = windows(x, size, stride)
        y = np.sqrt(np.einsum("nchwij,nchwij->nchw", win, win))
        return y, (win, y, x.shape, stride, pad)

    def backward(self, dy, cache):
        win, y, shape, stride, pad = cache
        safe = np.where(y > 0, y, 1)
        scale = np.where(y > 0, dy / safe, 0)  # guard the sqrt derivative at 0
        return unpad(fold(win * scale[..., None, None], shape, stride), pad), {}
