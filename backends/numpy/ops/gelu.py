"""gelu: y = x Φ(x) with Φ the standard normal CDF, in the exact erf form (PyTorch's default).

Φ(x) = (1 + erf(x / √2)) / 2 and dy/dx = Φ(x) + x φ(x), φ(x) = exp(-x²/2) / √(2π).
NumPy has no erf: _erf.py evaluates it in double precision (within 1e-15 of math.erf),
vectorized, and Φ is rounded to the input's dtype once at the end.
"""
from __future__ import annotations

import math

import numpy as np

from ._base import Op
from ._erf import erf


def normal_cdf(x: np.ndarray) -> np.ndarray:
    e = erf(x * (1.0 / math.sqrt(2.0)), np.float64)
    e += 1.0
    e *= 0.5
    return e.astype(x.dtype, copy=False)


class GELU(Op):
    name = "gelu"

    def forward(self, x, params, attrs, ctx):
        cdf = normal_cdf(x)
        return x * cdf, (x, cdf)

    def backward(self, dy, cache):
        x, cdf = cache
        pdf = np.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return dy * (cdf + x * pdf), {}
