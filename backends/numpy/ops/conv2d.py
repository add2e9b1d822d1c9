"""conv2d: cross-correlation, channels-first, by im2col + one matmul (one per group).

Layout choice (speed, not semantics): tensors are logically NCHW, but the
output is produced as an NHWC array seen through a transposed view, and the
im2col columns are ordered (kh, kw, C) so that, for such inputs, every copied
run is a contiguous channel vector. The weight [F, C/groups, kh, kw] is
reordered to match (a small copy). Padding is (top, left, bottom, right).
Dilation reads every d-th tap of a window d(k-1)+1 wide; with groups, the
columns of group g are its C/groups channels and its F/groups filters (a
batched matmul over the groups).
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


def taps(xh, kernel, stride, dilation):
    """[N, Hp, Wp, C] -> view [N, Ho, Wo, C, kh, kw] of the (dilated) receptive fields."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    win = sliding_window_view(xh, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(1, 2))
    return win[:, ::sh, ::sw, :, ::dh, ::dw]


class Conv2d(Op):
    name = "conv2d"

    def forward(self, x, params, attrs, ctx):
        w, b = params["weight"], params.get("bias")
        f, cg, kh, kw = w.shape
        g = attrs["groups"]
        pad = tuple(attrs["pad"])
        stride, dilation = tuple(attrs["stride"]), tuple(attrs["dilation"])
        xh = _pad_nhwc(x, pad) if any(pad) else x.transpose(0, 2, 3, 1)  # [N, Hp, Wp, C] view
        win = taps(xh, (kh, kw), stride, dilation)  # [N, Ho, Wo, C, kh, kw]
        n, ho, wo = win.shape[:3]
        if g == 1:
            cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, kh * kw * cg)  # the one copy
            wm = w.transpose(0, 2, 3, 1).reshape(f, -1)  # [F, kh*kw*C]
            y = cols @ wm.T  # [N*Ho*Wo, F]
        else:  # cols [G, M, kh*kw*Cg] @ wm [G, kh*kw*Cg, F/G]
            grouped = win.reshape(n, ho, wo, g, cg, kh, kw)
            cols = grouped.transpose(3, 0, 1, 2, 5, 6, 4).reshape(g, n * ho * wo, kh * kw * cg)
            wm = w.reshape(g, f // g, cg, kh, kw).transpose(0, 1, 3, 4, 2).reshape(g, f // g, -1)
            y = np.matmul(cols, wm.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(n * ho * wo, f)
        if b is not None:
            y += b
        y = y.reshape(n, ho, wo, f).transpose(0, 3, 1, 2)  # NCHW view of NHWC memory
        return y, (cols, wm, w.shape, g, b is not None, xh.shape, pad, stride, dilation, ctx.input_grad)

    def backward(self, dy, cache):
        cols, wm, w_shape, g, has_bias, xh_shape, pad, stride, dilation, input_grad = cache
        f, cg, kh, kw = w_shape
        n, _, ho, wo = dy.shape
        dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, f)  # free when dy has NHWC memory
        if g == 1:
            dw = (dy2.T @ cols).reshape(f, kh, kw, cg).transpose(0, 3, 1, 2)
        else:
            dyg = dy2.reshape(-1, g, f // g).transpose(1, 0, 2)  # [G, M, F/G]
            dw = np.matmul(dyg.transpose(0, 2, 1), cols).reshape(f, kh, kw, cg).transpose(0, 3, 1, 2)
        grads = {"weight": np.ascontiguousarray(dw)}
        if has_bias:
            grads["bias"] = dy2.sum(axis=0)
        if not input_grad:
            return None, grads
        if g == 1:
            dcols = (dy2 @ wm).reshape(n, ho, wo, kh, kw, cg)
        else:  # back to (kh, kw, C) columns, C = (group, channel in group)
            dcols = np.matmul(dyg, wm).reshape(g, n, ho, wo, kh, kw, cg).transpose(1, 2, 3, 4, 5, 0, 6)
            dcols = dcols.reshape(n, ho, wo, kh, kw, g * cg)
        dxh = np.zeros(xh_shape, dy.dtype)  # col2im: one strided add per kernel tap
        (sh, sw), (dh, dw_) = stride, dilation
        for i in range(kh):
            for j in range(kw):
                dxh[:, i * dh:i * dh + sh * ho:sh, j * dw_:j * dw_ + sw * wo:sw, :] += dcols[:, :, :, i, j, :]
        top, left, bottom, right = pad
        dx = dxh[:, top:xh_shape[1] - bottom, left:xh_shape[2] - right, :].transpose(0, 3, 1, 2)
        return dx, grads
