"""embedding: y[n, t] = W[tokens[n, t]] with W [vocab, dim].

Backward sums the output gradient of every position into the row it read; token
ids have no gradient. Padding rows are looked up like any other: their outputs
carry no loss (the mask ends there).
"""
from __future__ import annotations

import numpy as np

from ._base import Op


def scatter_rows(ids: np.ndarray, rows: np.ndarray, shape) -> np.ndarray:
    """dw [vocab, dim] with dw[i] = Σ rows[j] over j with ids[j] = i.

    np.add.at does this one row at a time (5x slower on the char GPT); here the rows are
    grouped by id with a stable sort and each group summed by np.add.reduceat: the same sums
    up to float32 rounding (reduceat adds pairwise, add.at in sequence)."""
    dw = np.zeros(shape, rows.dtype)
    if ids.size == 0:
        return dw
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_ids[1:] != sorted_ids[:-1]]))
    dw[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return dw


class Embedding(Op):
    name = "embedding"

    def forward(self, x, params, attrs, ctx):
        w = params["weight"]
        ids = np.asarray(x, dtype=np.int64)
        return w[ids], (ids, w.shape)

    def backward(self, dy, cache):
        ids, shape = cache
        return None, {"weight": scatter_rows(ids.reshape(-1), dy.reshape(-1, shape[1]), shape)}
