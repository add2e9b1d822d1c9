"""log_softmax over the feature axis (channels of an image, else the last): z - max - log(sum(exp(z - max)))."""
from __future__ import annotations

import numpy as np

from ._base import Op, feature_axis as _axis


def log_softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    s = z - z.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


class LogSoftmax(Op):
    name = "log_softmax"

    def forward(self, x, params, attrs, ctx):
        y = log_softmax(x, _axis(x))
        return y, y

    def backward(self, dy, y):
        return dy - np.exp(y) * dy.sum(axis=_axis(y), keepdims=True), {}
