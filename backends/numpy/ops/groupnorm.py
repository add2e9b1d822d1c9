"""groupnorm(groups, eps): per sample, normalize each group of channels over (its channels, H, W).

x [N, C, ...] is viewed as [N, G, C/G · rest]; mean and biased variance per (sample, group),
then y = x̂ γ[c] + β[c]. No running statistics: training and inference compute the same thing.
"""
from __future__ import annotations

import numpy as np

from ._base import Op


def _per_channel(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


class GroupNorm(Op):
    name = "groupnorm"

    def forward(self, x, params, attrs, ctx):
        n, g = x.shape[0], int(attrs["groups"])
        xg = x.reshape(n, g, -1)
        mean = xg.mean(axis=2, keepdims=True)
        xc = xg - mean
        inv = 1.0 / np.sqrt(np.mean(xc * xc, axis=2, keepdims=True) + float(attrs["eps"]))
        xhat = (xc * inv).reshape(x.shape)
        gamma = params["weight"]
        y = xhat * _per_channel(gamma, x) + _per_channel(params["bias"], x)
        return y, (xhat, inv, gamma, g)

    def backward(self, dy, cache):
        xhat, inv, gamma, g = cache
        axes = (0,) + tuple(range(2, dy.ndim))
        grads = {"weight": (dy * xhat).sum(axis=axes), "bias": dy.sum(axis=axes)}
        n = dy.shape[0]
        dxhat = (dy * _per_channel(gamma, dy)).reshape(n, g, -1)
        xh = xhat.reshape(n, g, -1)
        # through the group's mean and variance (closed form, as batchnorm's over the batch)
        dx = inv * (dxhat - dxhat.mean(axis=2, keepdims=True) - xh * (dxhat * xh).mean(axis=2, keepdims=True))
        return dx.reshape(dy.shape), grads
