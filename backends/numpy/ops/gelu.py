"""gelu: y = x Φ(x) with Φ the standard normal CDF, in the exact erf form (PyTorch's default).

Φ(x) = (1 + erf(x / √2)) / 2 and dy/dx = Φ(x) + x φ(x), φ(x) = exp(-x²/2) / √(2π).
NumPy has no erf: _erf.py evaluates it in double precision (within 1e-15 of math.erf).
The forward computes y and dy/dx together in double, block by block while the block
is in cache, and rounds each once to the input's dtype; the backward is one product.
"""
from __future__ import annotations

import math

import numpy as np

from ._base import Op
from ._erf import BLOCK, erf_block

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu_and_slope(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x Φ(x), Φ(x) + x φ(x)) in x's dtype; erf reads x / √2 rounded to x's dtype, as torch does."""
    flat = x.ravel()
    scaled = flat * x.dtype.type(1.0 / math.sqrt(2.0))
    y, slope = np.empty_like(flat), np.empty_like(flat)
    cdf = np.empty(min(BLOCK, flat.size))
    for lo in range(0, flat.size, BLOCK):
        block = slice(lo, lo + BLOCK)
        xb = flat[block].astype(np.float64)
        cb = cdf[:xb.size]
        erf_block(scaled[block], cb)
        cb += 1.0
        cb *= 0.5                                    # Φ(x)
        y[block] = xb * cb
        pdf = np.square(xb)
        pdf *= -0.5
        np.exp(pdf, out=pdf)
        pdf *= INV_SQRT_2PI                          # φ(x)
        pdf *= xb
        pdf += cb
        slope[block] = pdf
    return y.reshape(x.shape), slope.reshape(x.shape)


class GELU(Op):
    name = "gelu"

    def forward(self, x, params, attrs, ctx):
        y, slope = gelu_and_slope(x)
        return y, slope

    def backward(self, dy, slope):
        return dy * slope, {}
