"""prelu: leaky relu whose negative slope is the learned `weight`: [1], or one per channel/feature.

A per-channel slope broadcasts along the channel axis of an image [N, C, H, W] or a
vector [N, F], and along the last axis of a sequence [N, T, F] (specc.ops.activations.prelu_axis).
"""
from __future__ import annotations

import numpy as np

from specc.ops.activations import prelu_axis

from ._base import Op


class PReLU(Op):
    name = "prelu"

    def forward(self, x, params, attrs, ctx):
        w = params["weight"]
        axis = 1 + prelu_axis(x.ndim - 1)
        slope = w.reshape([-1 if i == axis else 1 for i in range(x.ndim)]) if w.size > 1 else w
        pos = x > 0
        return np.where(pos, x, slope * x), (x, pos, slope, w, axis)

    def backward(self, dy, cache):
        x, pos, slope, w, axis = cache
        neg = np.where(pos, 0, dy * x)
        if w.size > 1:
            dw = neg.sum(axis=tuple(i for i in range(x.ndim) if i != axis))
        else:
            dw = neg.sum().reshape(1)
        return np.where(pos, dy, slope * dy), {"weight": dw.astype(w.dtype)}
