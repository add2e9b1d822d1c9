"""Generated 2-D sets in the style of the TensorFlow playground (NumPy only, seeded).

Each returns (x float32 [n, dim], y int64 [n] class labels). Points are
shuffled so the order carries no class information. `noise` is the std of
Gaussian noise added to every coordinate.

  xor(n=4, noise=0)          the corners (0,0)->0 (0,1)->1 (1,0)->1 (1,1)->0, cycled to n
                             points; with the defaults exactly the 4 XOR rows, unshuffled
  spirals(n=200, noise=0.1)  two interleaved spirals (playground's formula), radius up to 5
  moons(n=200, noise=0.1)    two interleaving half circles (scikit-learn's make_moons)
  circles(n=200, noise=0.05, factor=0.5)  a circle of radius `factor` inside one of radius 1
  blobs(n=200, centers=3, std=1, dim=2)   Gaussian blobs; centres uniform in [-10, 10]^dim
"""
from __future__ import annotations

import numpy as np


def _sizes(n: int, k: int) -> list[int]:
    """n points over k classes as evenly as possible (first classes get the extra)."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _finish(parts, rng, noise) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([p for p, _ in parts]).astype(np.float64)
    y = np.concatenate([np.full(len(p), c, np.int64) for p, c in parts])
    if noise:
        x = x + noise * rng.standard_normal(x.shape)
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), y[order]


def xor(rng, n=4, noise=0.0):
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float64)
    labels = np.array([0, 1, 1, 0], np.int64)
    idx = np.arange(n) % 4
    x, y = corners[idx], labels[idx]
    if noise:
        x = x + noise * rng.standard_normal(x.shape)
    if n != 4:
        order = rng.permutation(n)
        x, y = x[order], y[order]
    return x.astype(np.float32), y


def spirals(rng, n=200, noise=0.1):
    parts = []
    for c, m in enumerate(_sizes(n, 2)):
        i = np.arange(m)
        r = i / max(m, 1) * 5.0
        t = 1.75 * i / max(m, 1) * 2 * np.pi + c * np.pi
        parts.append((np.stack([r * np.sin(t), r * np.cos(t)], 1), c))
    return _finish(parts, rng, noise)


def moons(rng, n=200, noise=0.1):
    m0, m1 = _sizes(n, 2)
    t0, t1 = np.linspace(0, np.pi, m0), np.linspace(0, np.pi, m1)
    outer = np.stack([np.cos(t0), np.sin(t0)], 1)
    inner = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)
    return _finish([(outer, 0), (inner, 1)], rng, noise)


def circles(rng, n=200, noise=0.05, factor=0.5):
    m0, m1 = _sizes(n, 2)
    t0 = np.linspace(0, 2 * np.pi, m0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, m1, endpoint=False)
    outer = np.stack([np.cos(t0), np.sin(t0)], 1)
    inner = factor * np.stack([np.cos(t1), np.sin(t1)], 1)
    return _finish([(outer, 0), (inner, 1)], rng, noise)


def blobs(rng, n=200, centers=3, std=1.0, dim=2):
    where = rng.uniform(-10.0, 10.0, (centers, dim))
    parts = [(where[c] + std * rng.standard_normal((m, dim)), c) for c, m in enumerate(_sizes(n, centers))]
    return _finish(parts, rng, 0.0)


GENERATORS = {"xor": xor, "spirals": spirals, "moons": moons, "circles": circles, "blobs": blobs}
