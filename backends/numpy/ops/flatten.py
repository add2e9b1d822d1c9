"""flatten: [N, C, H, W] -> [N, C*H*W] (C order, like PyTorch)."""
from __future__ import annotations

from ._base import Op


class Flatten(Op):
    name = "flatten"

    def forward(self, x, params, attrs, ctx):
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, dy, cache):
        return dy.reshape(cache), {}
