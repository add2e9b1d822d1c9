"""maxout: z = x W^T + b viewed as [N, units, pieces]; y = max over pieces.

Piece k of unit j is row j*pieces + k of W (canonical layout). The gradient
flows only through the winning piece (first maximum on ties).
"""
from __future__ import annotations

import numpy as np

from ._base import Op


class Maxout(Op):
    name = "maxout"

    def forward(self, x, params, attrs, ctx):
        w, b = params["weight"], params["bias"]
        units, pieces = int(attrs["units"]), int(attrs["pieces"])
        z = (x @ w.T + b).reshape(x.shape[0], units, pieces)
        idx = z.argmax(axis=-1)[..., None]
        y = np.take_along_axis(z, idx, axis=-1)[..., 0]
        return y, (x, w, idx, pieces, ctx.input_grad)

    def backward(self, dy, cache):
        x, w, idx, pieces, input_grad = cache
        dz = np.zeros((*dy.shape, pieces), dy.dtype)
        np.put_along_axis(dz, idx, dy[..., None], axis=-1)
        dz = dz.reshape(dy.shape[0], -1)
        grads = {"weight": dz.T @ x, "bias": dz.sum(axis=0)}
        return (dz @ w if input_grad else None), grads
