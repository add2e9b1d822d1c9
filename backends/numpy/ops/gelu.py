"""gelu: y = x Φ(x) with Φ the standard normal CDF, in the exact erf form (PyTorch's default).

Φ(x) = (1 + erf(x / √2)) / 2 and dy/dx = Φ(x) + x φ(x), φ(x) = exp(-x²/2) / √(2π).
NumPy has no erf, so it is math.erf element by element: exact to the last bit,
and the reference backend favours exactness over speed.
"""
from __future__ import annotations

import math

import numpy as np

from ._base import Op

_erf = np.frompyfunc(math.erf, 1, 1)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + _erf(x * (1.0 / math.sqrt(2.0))).astype(np.float64))).astype(x.dtype)


class GELU(Op):
    name = "gelu"

    def forward(self, x, params, attrs, ctx):
        cdf = normal_cdf(x)
        return x * cdf, (x, cdf)

    def backward(self, dy, cache):
        x, cdf = cache
        pdf = np.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return dy * (cdf + x * pdf), {}
