"""Merges: add, multiply, concat. They take a list of inputs and return one gradient per input."""
from __future__ import annotations

import numpy as np

from ._base import Op, feature_axis


class Add(Op):
    name = "add"
    merge = True

    def forward(self, xs, params, attrs, ctx):
        y = xs[0] + xs[1]
        for x in xs[2:]:
            y += x  # y is fresh, so in place is safe
        return y, len(xs)

    def backward(self, dy, n):
        return [dy] * n, {}


class Multiply(Op):
    name = "multiply"
    merge = True

    def forward(self, xs, params, attrs, ctx):
        y = xs[0] * xs[1]
        for x in xs[2:]:
            y *= x
        return y, xs

    def backward(self, dy, xs):
        dxs = []
        for i in range(len(xs)):
            d = dy
            for j, x in enumerate(xs):
                if j != i:
                    d = d * x
            dxs.append(d)
        return dxs, {}


class Concat(Op):
    name = "concat"
    merge = True

    def forward(self, xs, params, attrs, ctx):
        axis = feature_axis(xs[0])
        return np.concatenate(xs, axis=axis), (axis, np.cumsum([x.shape[axis] for x in xs])[:-1])

    def backward(self, dy, cache):
        axis, splits = cache
        return np.split(dy, splits, axis=axis), {}
