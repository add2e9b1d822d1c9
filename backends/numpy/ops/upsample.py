"""upsample: nearest (repeat) or bilinear (half-pixel centres, align_corners=false), integer scales.

Bilinear is separable: with A_h [H·sh, H] and A_w [W·sw, W] the interpolation weights
(PyTorch's source index (o + 0.5)/s - 0.5, clamped at 0 and at the last row),
y = A_h · x · A_wᵀ per image, and the backward is dx = A_hᵀ · dy · A_w.
"""
from __future__ import annotations

import numpy as np

from ._base import Op


def linear_weights(size: int, scale: int, dtype) -> np.ndarray:
    """[size·scale, size]: row o holds the two weights output o takes from its neighbours."""
    out = np.arange(size * scale)
    src = np.maximum((out + 0.5) / scale - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(np.int64), size - 1)
    hi = np.minimum(lo + 1, size - 1)
    frac = src - lo
    a = np.zeros((size * scale, size))
    np.add.at(a, (out, lo), 1.0 - frac)
    np.add.at(a, (out, hi), frac)
    return a.astype(dtype)


class Upsample(Op):
    name = "upsample"

    def forward(self, x, params, attrs, ctx):
        sh, sw = attrs["scale"]
        if attrs["mode"] == "nearest":
            return x.repeat(sh, axis=2).repeat(sw, axis=3), ("nearest", x.shape, (sh, sw))
        ah, aw = linear_weights(x.shape[2], sh, x.dtype), linear_weights(x.shape[3], sw, x.dtype)
        return np.matmul(np.matmul(ah, x), aw.T), ("bilinear", ah, aw)

    def backward(self, dy, cache):
        if cache[0] == "nearest":
            _, (n, c, h, w), (sh, sw) = cache
            return dy.reshape(n, c, h, sh, w, sw).sum(axis=(3, 5)), {}
        _, ah, aw = cache
        return np.matmul(np.matmul(ah.T, dy), aw), {}
