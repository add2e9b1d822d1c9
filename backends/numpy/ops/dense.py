"""dense: y = x W^T + b, W is [out, in] (canonical layout)."""
from __future__ import annotations

from ._base import Op, last_axis_matmul


class Dense(Op):
    name = "dense"

    def forward(self, x, params, attrs, ctx):
        w, b = params["weight"], params.get("bias")
        y = last_axis_matmul(x, w.T)
        if b is not None:
            y += b  # y is fresh, so in place is safe
        return y, (x, w, b is not None, ctx.input_grad)

    def backward(self, dy, cache):
        x, w, has_bias, input_grad = cache
        dy2 = dy.reshape(-1, dy.shape[-1])
        grads = {"weight": dy2.T @ x.reshape(-1, x.shape[-1])}
        if has_bias:
            grads["bias"] = dy2.sum(axis=0)
        dx = last_axis_matmul(dy, w) if input_grad else None
        return dx, grads
