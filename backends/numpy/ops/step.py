"""step: 1 where x > threshold, else 0.

Its derivative is 0 everywhere it exists (undefined at the threshold), so the
backward pass returns a zero gradient: layers below a step never learn by
gradient descent. That is the honest derivative, kept on purpose (the lecture's
perceptron unit); use sigmoid or hard_sigmoid to train through a threshold.
"""
from __future__ import annotations

import numpy as np

from ._base import Op


class Step(Op):
    name = "step"

    def forward(self, x, params, attrs, ctx):
        return (x > float(attrs["threshold"])).astype(x.dtype), None

    def backward(self, dy, cache):
        return np.zeros_like(dy), {}
