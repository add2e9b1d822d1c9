"""conv1d: cross-correlation over time on x [N, T, C], weight [F, C, k] (PyTorch's layout).

y[n, t, f] = b[f] + sum_{j, c} w[f, c, j] * xp[n, t*stride + j*dilation, c], with xp the input
zero-padded along time. The columns are gathered once per kernel tap (a strided slice of
the padded input each), so the loops run over the k taps only; the backward adds each
tap's gradient back into the same slice.
"""
from __future__ import annotations

import numpy as np

from ._base import Op


def _tap(t_out: int, j: int, stride: int, dilation: int) -> slice:
    """The time steps that kernel tap j reads, one per output step."""
    start = j * dilation
    return slice(start, start + stride * (t_out - 1) + 1, stride)


class Conv1d(Op):
    name = "conv1d"

    def forward(self, x, params, attrs, ctx):
        w, b = params["weight"], params.get("bias")
        f, c, k = w.shape
        stride, dilation = attrs["stride"], attrs["dilation"]
        before, after = attrs["pad"]
        n, t, _ = x.shape
        xp = np.zeros((n, t + before + after, c), x.dtype)
        xp[:, before:before + t] = x
        t_out = (xp.shape[1] - dilation * (k - 1) - 1) // stride + 1
        cols = np.stack([xp[:, _tap(t_out, j, stride, dilation)] for j in range(k)], axis=2)  # [N, T', k, C]
        wm = w.transpose(0, 2, 1).reshape(f, k * c)                                              # [F, k*C]
        y = (cols.reshape(n * t_out, k * c) @ wm.T).reshape(n, t_out, f)  # one 2-D product
        if b is not None:
            y += b
        return y, (cols, wm, w.shape, b is not None, xp.shape, (before, after), stride, dilation, ctx.input_grad)

    def backward(self, dy, cache):
        cols, wm, w_shape, has_bias, xp_shape, (before, after), stride, dilation, input_grad = cache
        f, c, k = w_shape
        n, t_out, _ = dy.shape
        dy2 = dy.reshape(-1, f)
        dw = (dy2.T @ cols.reshape(-1, k * c)).reshape(f, k, c).transpose(0, 2, 1)
        grads = {"weight": np.ascontiguousarray(dw)}
        if has_bias:
            grads["bias"] = dy2.sum(axis=0)
        if not input_grad:
            return None, grads
        dcols = (dy2 @ wm).reshape(n, t_out, k, c)
        dxp = np.zeros(xp_shape, dy.dtype)
        for j in range(k):
            dxp[:, _tap(t_out, j, stride, dilation)] += dcols[:, :, j]
        return dxp[:, before:xp_shape[1] - after], grads
