"""Seeded train/val/test partitions, stratified for classification.

Stratified means every class keeps (up to rounding) its share in every split:
the split sizes are round(fraction * N) overall, and those totals are shared
out between classes in proportion to their counts (largest remainder), so a
10% validation split of a 90/10 imbalanced set holds ~90/10 too.
Indices within each split are returned sorted, i.e. in file order.
"""
from __future__ import annotations

import numpy as np


def share(total: int, counts: np.ndarray) -> np.ndarray:
    """Split `total` items over groups proportionally to `counts` (largest remainder)."""
    counts = np.asarray(counts, np.int64)
    if total <= 0 or counts.sum() == 0:
        return np.zeros_like(counts)
    quota = counts * (total / counts.sum())
    base = np.minimum(np.floor(quota).astype(np.int64), counts)
    rest = total - int(base.sum())
    if rest > 0:
        room = base < counts
        frac = np.where(room, quota - base, -1.0)
        base[np.argsort(-frac, kind="stable")[:rest]] += 1
    return base


def partition(n: int, n_val: int, n_test: int, rng: np.random.Generator,
              labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (train, val, test) of n samples; stratified by `labels` (int [n]) if given."""
    perm = rng.permutation(n)
    if labels is None:
        test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
        return np.sort(train), np.sort(val), np.sort(test)
    _, inv = np.unique(labels, return_inverse=True)
    inv = inv.reshape(-1)
    grouped = perm[np.argsort(inv[perm], kind="stable")]  # by class, random within a class
    counts = np.bincount(inv)
    t_alloc = share(n_test, counts)
    v_alloc = share(n_val, counts - t_alloc)
    train, val, test = [], [], []
    start = 0
    for c, cnt in enumerate(counts):
        block = grouped[start:start + cnt]
        t, v = t_alloc[c], v_alloc[c]
        test.append(block[:t])
        val.append(block[t:t + v])
        train.append(block[t + v:])
        start += cnt
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in (train, val, test))


def sizes(n: int, val: float, test: float) -> tuple[int, int]:
    """Validation and test counts for fractions of n."""
    return int(round(val * n)), int(round(test * n))
