"""dropout: inverted dropout. Training zeroes each unit with probability p and
scales survivors by 1/(1-p), so inference is the identity. Masks come from
ctx.rng (the "dropout" stream of this step), so a run is reproducible."""
from __future__ import annotations

import numpy as np

from ._base import Op


class Dropout(Op):
    name = "dropout"

    def forward(self, x, params, attrs, ctx):
        p = float(attrs["p"])
        if not ctx.training or p == 0.0:
            return x, None
        if p >= 1.0:
            mask = np.zeros_like(x)
        else:
            keep = ctx.rng.random(x.shape, dtype=np.float32) >= p
            mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
        return x * mask, mask

    def backward(self, dy, cache):
        return (dy if cache is None else dy * cache), {}
