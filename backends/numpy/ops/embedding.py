"""embedding: y[n, t] = W[tokens[n, t]] with W [vocab, dim].

Backward scatters the output gradient back onto the rows that were read
(np.add.at sums repeated tokens); token ids have no gradient. Padding rows are
looked up like any other: their outputs carry no loss (the mask ends there).
"""
from __future__ import annotations

import numpy as np

from ._base import Op


class Embedding(Op):
    name = "embedding"

    def forward(self, x, params, attrs, ctx):
        w = params["weight"]
        ids = np.asarray(x, dtype=np.int64)
        return w[ids], (ids, w.shape)

    def backward(self, dy, cache):
        ids, shape = cache
        dw = np.zeros(shape, dy.dtype)
        np.add.at(dw, ids.reshape(-1), dy.reshape(-1, shape[1]))
        return None, {"weight": dw}
