"""conv2d: cross-correlation, channels-first, by im2col + one matmul.

Layout choice (speed, not semantics): tensors are logically NCHW, but the
output is produced as an NHWC array seen through a transposed view, and the
im2col columns are ordered (kh, kw, C) so that, for such inputs, every copied
run is a contiguous channel vector. The weight [F, C, kh, kw] is reordered to
match (a small copy). Padding is (top, left, bottom, right).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._base import Op


def _pad_nhwc(x, pad):
    """Zero-pad H and W; the result is NCHW-logical with NHWC memory."""
    top, left, bottom, right = pad
    n, c, h, w = x.shape
    xh = np.zeros((n, h + top + bottom, w + left + right, c), x.dtype)
    xh[:, top:top + h, left:left + w, :] = x.transpose(0, 2, 3, 1)
    return xh


class Conv2d(Op):
    name = "conv2d"

    def forward(self, x, params, attrs, ctx):
        w, b = params["weight"], params.get("bias")
        f, c, kh, kw = w.shape
        pad = tuple(attrs["pad"])
        sh, sw = attrs["stride"]
        xh = _pad_nhwc(x, pad) if any(pad) else x.transpose(0, 2, 3, 1)  # [N, Hp, Wp, C] view
        win = sliding_window_view(xh, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # [N, Ho, Wo, C, kh, kw]
        n, ho, wo = win.shape[:3]
        cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * c)  # the one copy
        wm = w.transpose(0, 2, 3, 1).reshape(f, -1)  # [F, kh*kw*C]
        y = cols @ wm.T  # [N*Ho*Wo, F]
        if b is not None:
            y += b
        y = y.reshape(n, ho, wo, f).transpose(0, 3, 1, 2)  # NCHW view of NHWC memory
        return y, (cols, wm, w.shape, b is not None, xh.shape, pad, (sh, sw), ctx.input_grad)

    def backward(self, dy, cache):
        cols, wm, w_shape, has_bias, xh_shape, pad, stride, input_grad = cache
        f, c, kh, kw = w_shape
        n, _, ho, wo = dy.shape
        dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, f)  # free when dy has NHWC memory
        dw = (dy2.T @ cols).reshape(f, kh, kw, c).transpose(0, 3, 1, 2)
        grads = {"weight": np.ascontiguousarray(dw)}
        if has_bias:
            grads["bias"] = dy2.sum(axis=0)
        if not input_grad:
            return None, grads
        dcols = (dy2 @ wm).reshape(n, ho, wo, kh, kw, c)
        dxh = np.zeros(xh_shape, dy.dtype)  # col2im: one strided add per kernel offset
        sh, sw = stride
        for i in range(kh):
            for j in range(kw):
                dxh[:, i:i + sh * ho:sh, j:j + sw * wo:sw, :] += dcols[:, :, :, i, j, :]
        top, left, bottom, right = pad
        dx = dxh[:, top:xh_shape[1] - bottom, left:xh_shape[2] - right, :].transpose(0, 3, 1, 2)
        return dx, grads
