"""maxpool: max over each field (floor; padding is -inf, so it never wins); the gradient goes to the argmax only.

Computed as a running maximum over the kh*kw kernel offsets (each step a
whole-tensor strided compare), recording which offset won; a strict `>` keeps
the first maximum in row-major window order, like PyTorch. Arrays keep the
memory layout of the input (order="K"), so NHWC data from conv2d stays NHWC.
A sequence [N, T, C] is pooled over time as the image [N, C, T, 1].
"""
from __future__ import annotations

import numpy as np

from ._base import Op
from ._windows import image_as_time, out_size, pad_image, time_as_image, time_window, unpad


def _offset(a, i, j, ho, wo, stride):
    sh, sw = stride
    return a[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]


class MaxPool(Op):
    name = "maxpool"

    def forward(self, x, params, attrs, ctx):
        if x.ndim == 3:  # a sequence: pool over time
            y, cache = _pool(time_as_image(x), *time_window(attrs))
            return image_as_time(y), (True, cache)
        pad = tuple(attrs["pad"])
        if any(pad):  # -inf: padding never wins
            x = pad_image(x, pad, -np.inf)
        y, cache = _pool(x, tuple(attrs["size"]), tuple(attrs["stride"]))
        return y, (False, (cache, pad))

    def backward(self, dy, cache):
        over_time, cache = cache
        if over_time:
            return image_as_time(_unpool(time_as_image(dy), cache)), {}
        cache, pad = cache
        return unpad(_unpool(dy, cache), pad), {}


def _pool(x, size, stride):
    ho, wo = out_size(x.shape[2], x.shape[3], size, stride)
    best = _offset(x, 0, 0, ho, wo, stride).copy(order="K")
    arg = np.zeros(best.shape, np.uint8 if size[0] * size[1] < 256 else np.int32)
    for k in range(1, size[0] * size[1]):
        v = _offset(x, k // size[1], k % size[1], ho, wo, stride)
        np.copyto(arg, k, where=v > best)
        np.maximum(best, v, out=best)
    return best, (arg, x, size, stride)


def _unpool(dy, cache):
    arg, x, size, stride = cache
    ho, wo = dy.shape[2:]
    dx = np.zeros_like(x, dtype=dy.dtype)  # same memory layout as the input
    overlap = stride[0] < size[0] or stride[1] < size[1]
    for k in range(size[0] * size[1]):
        dst = _offset(dx, k // size[1], k % size[1], ho, wo, stride)
        if overlap:
            dst += np.where(arg == k, dy, 0)
        else:
            np.copyto(dst, dy, where=arg == k)
    return dx
