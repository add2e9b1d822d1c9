"""Receptive-field views shared by conv2d and the pools (no loops over pixels).

`windows` is a zero-copy strided view of every kh x kw field; `fold` is its
adjoint (col2im): it adds each field's gradient back into the image, looping
only over the kh*kw kernel offsets, each step a whole-tensor strided add.
`pad_image` / `unpad` add and remove a pool's (top, left, bottom, right) border.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def out_size(h: int, w: int, size, stride) -> tuple[int, int]:
    """Output height/width of a valid (unpadded, floor) window sweep."""
    return (h - size[0]) // stride[0] + 1, (w - size[1]) // stride[1] + 1


def windows(x: np.ndarray, size, stride) -> np.ndarray:
    """[N, C, H, W] -> read-only view [N, C, Ho, Wo, kh, kw]."""
    v = sliding_window_view(x, tuple(size), axis=(2, 3))
    return v[:, :, ::stride[0], ::stride[1]]


def fold(dwin: np.ndarray, shape, stride) -> np.ndarray:
    """Adjoint of `windows`: dwin [N, C, Ho, Wo, kh, kw] -> dx of `shape` [N, C, H, W]."""
    _, _, ho, wo, kh, kw = dwin.shape
    sh, sw = stride
    dx = np.zeros(shape, dwin.dtype)
    if (sh, sw) == (kh, kw):  # non-overlapping fields: one strided copy, no additions
        dx[:, :, :ho * kh, :wo * kw] = dwin.transpose(0, 1, 2, 4, 3, 5).reshape(
            dwin.shape[0], dwin.shape[1], ho * kh, wo * kw)
        return dx
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += dwin[:, :, :, :, i, j]
    return dx


# -- pooling over time: a sequence [N, T, C] seen as an image [N, C, T, 1] ----------------------
def time_as_image(x: np.ndarray) -> np.ndarray:
    """[N, T, C] -> [N, C, T, 1] view, so the image pools slide over time."""
    return x.transpose(0, 2, 1)[..., None]


def image_as_time(y: np.ndarray) -> np.ndarray:
    """Inverse of `time_as_image`: [N, C, T, 1] -> [N, T, C] view."""
    return y[..., 0].transpose(0, 2, 1)


def time_window(attrs) -> tuple[tuple[int, int], tuple[int, int]]:
    """A pool's (size, stride) over time as 2-D windows of width 1."""
    return (attrs["size"][0], 1), (attrs["stride"][0], 1)
def pad_image(x: np.ndarray, pad, value: float = 0.0) -> np.ndarray:
    """[N, C, H, W] with `pad` (top, left, bottom, right) rows/columns of `value` around it."""
    top, left, bottom, right = pad
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def unpad(dx: np.ndarray, pad) -> np.ndarray:
    """The gradient of pad_image: the inner part."""
    top, left, bottom, right = pad
    return dx[:, :, top:dx.shape[2] - bottom, left:dx.shape[3] - right]


def counts(size: int, window: int, stride: int, before: int, out: int) -> np.ndarray:
    """How many of each window's `window` positions fall inside [0, size) (padding excluded)."""
    start = np.arange(out) * stride - before
    return np.minimum(start + window, size) - np.maximum(start, 0)
