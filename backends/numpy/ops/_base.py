"""The Op interface every NumPy op implements, and the per-call context.

An op is a stateless object: `forward` returns the output and a cache of
whatever `backward` needs; `backward` turns the gradient of the output into
the gradient of the input and of the op's parameters (by short name).
Ops never modify their inputs or the incoming gradient in place: a residual
block reuses both.
"""
from __future__ import annotations

import numpy as np

from specc.rng import stream


class Context:
    """What a forward pass needs beyond the input: mode, randomness, flags.

    `training` selects batch statistics / dropout. `rng` (dropout masks) is
    drawn lazily from `stream(seed, "dropout", step)` so steps without dropout
    pay nothing for it. `input_grad` is set by the model runner before each
    forward: False means nobody needs the gradient of this layer's input (the
    first layer), so dense/conv skip that product. `update_buffers=False`
    keeps batchnorm running statistics untouched (diagnostic recomputes).
    `mask` is set per layer too: the padding mask of its input (specc/masks.py).
    """

    def __init__(self, training: bool = False, *, seed: int = 0, step: int = 0,
                 rng: np.random.Generator | None = None, update_buffers: bool = True):
        self.training = training
        self.seed = seed
        self.step = step
        self._rng = rng
        self.update_buffers = update_buffers
        self.input_grad = True
        self.mask = None  # the padding mask of this layer's input ([N, T] bool, True = real), or None

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = stream(self.seed, "dropout", self.step)
        return self._rng


class Op:
    """Base class: one op = forward + backward side by side.

    A merge (`merge = True`) takes the list of its inputs and returns a list of
    input gradients; every other op takes and returns one array.
    """

    name = ""
    merge = False

    def forward(self, x, params: dict, attrs: dict, ctx: Context):
        raise NotImplementedError

    def backward(self, dy, cache):
        raise NotImplementedError


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """1/(1+exp(-z)) without overflow: exp only ever sees -|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)), finite for any z."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def feature_axis(x) -> int:
    """Axis of the features in a batch: channels of [N, C, H, W], the last axis otherwise (vectors, sequences)."""
    return 1 if x.ndim == 4 else x.ndim - 1


def last_axis_matmul(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """x @ m over the last axis of x of any rank, as one 2-D product: NumPy's stacked matmul of a
    [N, T, D] array by a matrix does not reach BLAS and is ~30x slower."""
    if x.ndim == 2:
        return x @ m
    return (x.reshape(-1, x.shape[-1]) @ m).reshape(*x.shape[:-1], m.shape[-1])
