"""selu: scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al. (2017)."""
from __future__ import annotations

import numpy as np

from ._base import Op

ALPHA = 1.6732632423543772848170429916717
SCALE = 1.0507009873554804934193349852946


class SELU(Op):
    name = "selu"

    def forward(self, x, params, attrs, ctx):
        pos = x > 0
        e = ALPHA * np.expm1(np.minimum(x, 0))
        return SCALE * np.where(pos, x, e), (pos, e)

    def backward(self, dy, cache):
        pos, e = cache
        return SCALE * np.where(pos, dy, dy * (e + ALPHA)), {}
