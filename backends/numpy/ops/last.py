"""last: the vector at each sequence's last non-padding position (right padding: lengths - 1).

Without a mask it is position T - 1; a sequence that is all padding gives position 0.
Backward puts the gradient back at that one position.
"""
from __future__ import annotations

import numpy as np

from ._base import Op


def last_index(mask, n: int, t: int) -> np.ndarray:
    if mask is None:
        return np.full(n, t - 1, np.int64)
    return np.maximum(mask.sum(axis=1) - 1, 0).astype(np.int64)


class Last(Op):
    name = "last"

    def forward(self, x, params, attrs, ctx):
        idx = last_index(ctx.mask, x.shape[0], x.shape[1])
        return x[np.arange(x.shape[0]), idx], (idx, x.shape)

    def backward(self, dy, cache):
        idx, shape = cache
        dx = np.zeros(shape, dy.dtype)
        dx[np.arange(shape[0]), idx] = dy
        return dx, {}
