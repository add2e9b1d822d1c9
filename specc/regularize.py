"""Regularization applied to dicts of NumPy arrays between backward and the optimizer step.

These are the three stanzas of the shared update order (docs/ARCHITECTURE.md):
data-loss gradients -> `add_l2` -> `clip_global_norm` -> `decoupled_decay` ->
optimizer step. Each works in place on `{canonical key: array}` dicts so the
NumPy backend (and any other caller holding NumPy arrays) shares one definition.
"""
from __future__ import annotations

import math

import numpy as np


def add_l2(grads: dict, params: dict, l2: float, decaying_keys) -> dict:
    """grad += l2 * w for every decaying parameter (the gradient of l2/2 * sum w^2).

    Biases, norms and buffers are not in `decaying_keys` (Param.decay), so they
    are left alone. Works in place; returns `grads` for chaining.
    """
    if l2:
        for key in decaying_keys:
            grads[key] += l2 * params[key]
    return grads


def global_norm(grads) -> float:
    """sqrt of the sum of squares of every gradient, accumulated in float64.

    float64 accumulation keeps float32 gradients from overflowing when squared
    and from losing small contributions in a long sum.
    """
    total = 0.0
    for g in grads:
        flat = np.asarray(g, dtype=np.float64).ravel()
        total += float(np.dot(flat, flat))
    return math.sqrt(total)


def clip_global_norm(grads: dict, max_norm: float | None) -> float:
    """Scale all gradients by min(1, max_norm / (norm + 1e-6)); return the norm before clipping.

    The same rule as torch.nn.utils.clip_grad_norm_ (its 1e-6 guards against a
    zero norm, and means a norm within 1e-6 below max_norm is scaled by a hair
    too). `max_norm=None` only measures. A non-finite norm is returned as is and
    the gradients are left untouched: the caller reports the non-finite step.
    """
    norm = global_norm(grads.values())
    if max_norm is None or not math.isfinite(norm):
        return norm
    coef = max_norm / (norm + 1e-6)
    if coef < 1.0:
        for g in grads.values():
            g *= coef
    return norm


def decoupled_decay(params: dict, weight_decay: float, decaying_keys) -> dict:
    """w <- (1 - weight_decay) * w for every decaying parameter (Loshchilov & Hutter's decoupled decay).

    Unlike l2, this does not pass through the optimizer's gradient scaling, so
    for adaptive optimizers it shrinks every weight by the same fraction.
    Works in place; returns `params`.
    """
    if weight_decay:
        keep = 1.0 - weight_decay
        for key in decaying_keys:
            params[key] *= keep
    return params
