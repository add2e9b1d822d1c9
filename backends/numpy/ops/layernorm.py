"""layernorm over the last axis (PyTorch LayerNorm): x̂ = (x - μ) / √(σ² + eps), y = γ x̂ + β.

σ² is the biased variance of each position's features. Backward, with g = dy γ and D
features: dx = (g - mean(g) - x̂ mean(g x̂)) / √(σ² + eps).
"""
from __future__ import annotations

import numpy as np

from ._base import Op


class LayerNorm(Op):
    name = "layernorm"

    def forward(self, x, params, attrs, ctx):
        mu = x.mean(axis=-1, keepdims=True)
        centred = x - mu
        var = (centred * centred).mean(axis=-1, keepdims=True)
        inv = 1.0 / np.sqrt(var + x.dtype.type(attrs["eps"]))
        xhat = centred * inv
        return xhat * params["weight"] + params["bias"], (xhat, inv, params["weight"])

    def backward(self, dy, cache):
        xhat, inv, w = cache
        axes = tuple(range(dy.ndim - 1))
        grads = {"weight": (dy * xhat).sum(axis=axes), "bias": dy.sum(axis=axes)}
        g = dy * w
        dx = (g - g.mean(axis=-1, keepdims=True) - xhat * (g * xhat).mean(axis=-1, keepdims=True)) * inv
        return dx, grads
