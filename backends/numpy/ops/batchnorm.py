"""batchnorm: normalize over axis 1 of [N, F] or [N, C, H, W].

Training normalizes with the batch mean and biased variance and updates the
running statistics in place (PyTorch's convention: running_var takes the
unbiased batch variance). Inference uses the running statistics.
"""
from __future__ import annotations

import numpy as np

from ._base import Op


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _bcast(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


class BatchNorm(Op):
    name = "batchnorm"

    def forward(self, x, params, attrs, ctx):
        eps, m = float(attrs["eps"]), float(attrs["momentum"])
        gamma, beta = params["weight"], params["bias"]
        axes = _axes(x)
        if ctx.training:
            mean = x.mean(axis=axes)
            xc = x - _bcast(mean, x)
            var = np.mean(xc * xc, axis=axes)
            if ctx.update_buffers:
                count = x.size // x.shape[1]
                unbiased = var * (count / max(count - 1, 1))
                rm, rv = params["running_mean"], params["running_var"]
                rm *= 1 - m
                rm += m * mean.astype(rm.dtype)
                rv *= 1 - m
                rv += m * unbiased.astype(rv.dtype)
        else:
            mean, var = params["running_mean"].astype(x.dtype), params["running_var"].astype(x.dtype)
            xc = x - _bcast(mean, x)
        inv = 1.0 / np.sqrt(var + eps)
        xhat = xc * _bcast(inv, x)
        y = xhat * _bcast(gamma, x) + _bcast(beta, x)
        return y, (xhat, inv, gamma, ctx.training)

    def backward(self, dy, cache):
        xhat, inv, gamma, training = cache
        axes = _axes(dy)
        dbeta = dy.sum(axis=axes)
        dgamma = (dy * xhat).sum(axis=axes)
        g = _bcast(gamma * inv, dy)
        if not training:  # running statistics are constants
            return dy * g, {"weight": dgamma, "bias": dbeta}
        count = dy.size // dy.shape[1]
        # d xhat, then through the batch mean and variance (closed form)
        dx = g * (dy - _bcast(dbeta / count, dy) - xhat * _bcast(dgamma / count, dy))
        return dx, {"weight": dgamma, "bias": dbeta}
