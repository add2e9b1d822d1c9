"""avgpool: mean over each field (no padding, floor); a sequence [N, T, C] is pooled over time."""
from __future__ import annotations

import numpy as np

from ._base import Op
from ._windows import fold, image_as_time, time_as_image, time_window, windows


class AvgPool(Op):
    name = "avgpool"

    def forward(self, x, params, attrs, ctx):
        over_time = x.ndim == 3
        if over_time:
            x, (size, stride) = time_as_image(x), time_window(attrs)
        else:
            size, stride = tuple(attrs["size"]), tuple(attrs["stride"])
        y = windows(x, size, stride).mean(axis=(-2, -1))
        return (image_as_time(y) if over_time else y), (x.shape, size, stride, over_time)

    def backward(self, dy, cache):
        shape, size, stride, over_time = cache
        if over_time:
            dy = time_as_image(dy)
        share = dy / (size[0] * size[1])
        dwin = np.broadcast_to(share[..., None, None], (*dy.shape, *size))
        dx = fold(dwin, shape, stride)
        return (image_as_time(dx) if over_time else dx), {}
