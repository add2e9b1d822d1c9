"""conv2d_transpose: the adjoint of a convolution (PyTorch ConvTranspose2d), channels-first.

Every input pixel scatters its C values through the weight [C, F, kh, kw] into a
kh x kw patch of the full output ((H-1)·s + k rows), patches `stride` apart: one
matmul to the patches, then one strided add per kernel tap (col2im). The full output
is then cropped by pad (top, left, bottom, right) and extended with `output_padding`
zero rows/columns at the bottom/right, and the bias is added everywhere. The backward
is conv2d's forward: the receptive fields of the (uncropped) gradient, one matmul.
Arrays are NHWC in memory, NCHW to the caller, as in conv2d.
"""
from __future__ import annotations

import numpy as np

from ._base import Op
from .conv2d import taps


class Conv2dTranspose(Op):
    name = "conv2d_transpose"

    def forward(self, x, params, attrs, ctx):
        w, b = params["weight"], params.get("bias")
        c, f, kh, kw = w.shape
        n, _, h, wd = x.shape
        sh, sw = attrs["stride"]
        top, left, bottom, right = attrs["pad"]
        oh, ow = attrs["output_padding"]
        x2 = x.transpose(0, 2, 3, 1).reshape(n * h * wd, c)
        wm = w.transpose(0, 2, 3, 1).reshape(c, kh * kw * f)  # columns (kh, kw, F)
        patches = (x2 @ wm).reshape(n, h, wd, kh, kw, f)
        full = np.zeros((n, (h - 1) * sh + kh, (wd - 1) * sw + kw, f), x.dtype)
        for i in range(kh):
            for j in range(kw):
                full[:, i:i + sh * h:sh, j:j + sw * wd:sw, :] += patches[:, :, :, i, j, :]
        hf, wf = full.shape[1:3]
        ho, wo = hf - top - bottom + oh, wf - left - right + ow
        kept = full[:, top:top + ho, left:left + wo, :]  # the cropped part (output_padding beyond it: zeros)
        y = np.zeros((n, ho, wo, f), x.dtype)
        y[:, :kept.shape[1], :kept.shape[2], :] = kept
        if b is not None:
            y += b
        cache = (x2, wm, w.shape, x.shape, full.shape, (top, left), (sh, sw), b is not None, ctx.input_grad)
        return y.transpose(0, 3, 1, 2), cache

    def backward(self, dy, cache):
        x2, wm, w_shape, x_shape, full_shape, (top, left), stride, has_bias, input_grad = cache
        c, f, kh, kw = w_shape
        n, _, h, wd = x_shape
        dyh = dy.transpose(0, 2, 3, 1)  # [N, Ho, Wo, F]
        dfull = np.zeros(full_shape, dy.dtype)  # the gradient of the full output: cropped parts get 0
        rows, cols = min(dyh.shape[1], full_shape[1] - top), min(dyh.shape[2], full_shape[2] - left)
        dfull[:, top:top + rows, left:left + cols, :] = dyh[:, :rows, :cols, :]
        win = taps(dfull, (kh, kw), stride, (1, 1))  # [N, H, W, F, kh, kw]
        dpatches = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * h * wd, kh * kw * f)
        dw = (x2.T @ dpatches).reshape(c, kh, kw, f).transpose(0, 3, 1, 2)
        grads = {"weight": np.ascontiguousarray(dw)}
        if has_bias:
            grads["bias"] = dyh.sum(axis=(0, 1, 2))
        if not input_grad:
            return None, grads
        dx = (dpatches @ wm.T).reshape(n, h, wd, c).transpose(0, 3, 1, 2)
        return dx, grads
