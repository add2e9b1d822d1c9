"""global_maxpool / global_avgpool: over time for a sequence [N, T, D] (padding left out),
over the positions of an image [N, C, H, W]; the output is [N, D] or [N, C].

A sequence that is all padding pools to zeros. The max's gradient goes to the first
maximal position (the conformance suite gives distinct inputs).
"""
from __future__ import annotations

import numpy as np

from ._base import Op


def _as_positions(x):
    """[N, positions, features]: a sequence as it is, an image with its positions flattened to the middle axis."""
    if x.ndim == 4:
        n, c = x.shape[:2]
        return x.reshape(n, c, -1).transpose(0, 2, 1)
    return x


def _back(d, shape):
    """The inverse of _as_positions for a gradient."""
    if len(shape) == 4:
        return d.transpose(0, 2, 1).reshape(shape)
    return d


class GlobalAvgPool(Op):
    name = "global_avgpool"

    def forward(self, x, params, attrs, ctx):
        p = _as_positions(x)
        if ctx.mask is None or x.ndim == 4:
            w = np.full(p.shape[:2], 1.0 / p.shape[1], x.dtype)
        else:
            m = ctx.mask.astype(x.dtype)
            w = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        return (p * w[..., None]).sum(axis=1), (w, x.shape)

    def backward(self, dy, cache):
        w, shape = cache
        return _back(w[..., None] * dy[:, None, :], shape), {}


class GlobalMaxPool(Op):
    name = "global_maxpool"

    def forward(self, x, params, attrs, ctx):
        p = _as_positions(x)
        real = np.ones(p.shape[:2], bool) if ctx.mask is None or x.ndim == 4 else ctx.mask
        masked = np.where(real[..., None], p, -np.inf)
        idx = masked.argmax(axis=1)                                   # [N, D]
        has = real.any(axis=1)                                        # [N]
        y = np.take_along_axis(p, idx[:, None, :], axis=1)[:, 0] * has[:, None]
        return y.astype(x.dtype, copy=False), (idx, has, p.shape, x.shape)

    def backward(self, dy, cache):
        idx, has, pshape, shape = cache
        d = np.zeros(pshape, dy.dtype)
        np.put_along_axis(d, idx[:, None, :], (dy * has[:, None])[:, None, :], axis=1)
        return _back(d, shape), {}
