"""softmax over the feature axis (channels of an image, else the last axis), shifted by the max for stability."""
from __future__ import annotations

import numpy as np

from ._base import Op, feature_axis as _axis


def softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


class Softmax(Op):
    name = "softmax"

    def forward(self, x, params, attrs, ctx):
        y = softmax(x, _axis(x))
        return y, y

    def backward(self, dy, y):
        # J^T dy = y * (dy - <dy, y>)
        return y * (dy - (dy * y).sum(axis=_axis(y), keepdims=True)), {}
