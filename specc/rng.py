"""Seeded random streams: one seed, independent streams per purpose.

Every random draw in specc (initial weights, splits, shuffling, dropout masks,
generated data) comes from `stream(seed, purpose)`, so each backend and each
resumed run sees exactly the same numbers, and adding a layer does not change
the batch order.
"""
from __future__ import annotations

import zlib

import numpy as np

PURPOSES = ("init", "data", "split", "shuffle", "dropout")


def stream(seed: int, purpose: str, *extra: int) -> np.random.Generator:
    """A NumPy Generator for one purpose (e.g. "shuffle", epoch 3 -> extra=(3,))."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(purpose.encode()), *extra])
