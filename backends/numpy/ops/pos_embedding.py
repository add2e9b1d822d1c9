"""pos_embedding: y[n, t] = x[n, t] + W[t] with W [max_len, D] (rows past T unused)."""
from __future__ import annotations

import numpy as np

from ._base import Op


class PosEmbedding(Op):
    name = "pos_embedding"

    def forward(self, x, params, attrs, ctx):
        w = params["weight"]
        t = x.shape[1]
        return x + w[:t], (t, w.shape)

    def backward(self, dy, cache):
        t, shape = cache
        dw = np.zeros(shape, dy.dtype)
        dw[:t] = dy.sum(axis=0)
        return dy, {"weight": dw}
