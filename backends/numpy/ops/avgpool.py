"""avgpool: mean over each field (floor); padded windows average their real pixels only;
a sequence [N, T, C] is pooled over time (no padding).

Padding is left out of the average (Keras `same`, PyTorch count_include_pad=False):
the sum over the zero-padded field is divided by the count of real pixels in it.
"""
from __future__ import annotations

import numpy as np

from ._base import Op
from ._windows import counts, fold, image_as_time, pad_image, time_as_image, time_window, unpad, windows


class AvgPool(Op):
    name = "avgpool"

    def forward(self, x, params, attrs, ctx):
        over_time = x.ndim == 3
        pad = tuple(attrs["pad"])
        if over_time:
            x, (size, stride) = time_as_image(x), time_window(attrs)
        else:
            size, stride = tuple(attrs["size"]), tuple(attrs["stride"])
        if not any(pad):
            y = windows(x, size, stride).mean(axis=(-2, -1))
            return (image_as_time(y) if over_time else y), (x.shape, size, stride, pad, None, over_time)
        xp = pad_image(x, pad)
        total = windows(xp, size, stride).sum(axis=(-2, -1))
        ho, wo = total.shape[2:]
        n = np.outer(counts(x.shape[2], size[0], stride[0], pad[0], ho),
                     counts(x.shape[3], size[1], stride[1], pad[1], wo)).astype(x.dtype)
        return total / n, (xp.shape, size, stride, pad, n, False)

    def backward(self, dy, cache):
        shape, size, stride, pad, n, over_time = cache
        if over_time:
            dy = time_as_image(dy)
        share = dy / (size[0] * size[1]) if n is None else dy / n
        dwin = np.broadcast_to(share[..., None, None], (*dy.shape, *size))
        dx = unpad(fold(dwin, shape, stride), pad)
        return (image_as_time(dx) if over_time else dx), {}
