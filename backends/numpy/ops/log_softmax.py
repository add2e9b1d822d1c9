"""log_softmax over axis 1: z - max - log(sum(exp(z - max))) (log-sum-exp, stable)."""
from __future__ import annotations

import numpy as np

from ._base import Op


def log_softmax(z: np.ndarray, axis: int = 1) -> np.ndarray:
    s = z - z.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


class LogSoftmax(Op):
    name = "log_softmax"

    def forward(self, x, params, attrs, ctx):
        y = log_softmax(x)
        return y, y

    def backward(self, dy, y):
        return dy - np.exp(y) * dy.sum(axis=1, keepdims=True), {}
