"""attention: multi-head self-attention over a sequence x [N, T, D] (minGPT's layout, B, T, C).

    q, k, v = x Wqᵀ + bq, x Wkᵀ + bk, x Wvᵀ + bv        [N, T, D] -> heads [N, H, T, d], d = D / H
    s = q kᵀ / √d, with keys that are padding or (causal) later than the query left out
    p = softmax(s) over the allowed keys;  p' = dropout(p) while training
    y = merge(p' v) Woᵀ + bo, and 0 for a query that has no key to attend

Backward consumes the named intermediates in reverse.
"""
from __future__ import annotations

import numpy as np

from ._base import Op, last_axis_matmul


def _t(a):
    """The last two axes swapped, contiguous: NumPy's stacked matmul is ~20x slower on a transposed view."""
    return np.ascontiguousarray(a.swapaxes(-1, -2))


def allowed_keys(mask, t: int, causal: bool):
    """bool [N or 1, 1, T, T]: query i may attend key j (None: every key)."""
    allowed = None
    if mask is not None:
        allowed = mask[:, None, None, :]
    if causal:
        tri = np.tril(np.ones((t, t), bool))[None, None]
        allowed = tri if allowed is None else allowed & tri
    return allowed


def masked_softmax(s, allowed):
    """softmax over the last axis among the allowed entries; a row with none allowed is all zeros."""
    if allowed is None:
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    s = np.where(allowed, s, -np.inf)
    top = s.max(axis=-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(top), top, 0))
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1)


class Attention(Op):
    name = "attention"

    def forward(self, x, params, attrs, ctx):
        n, t, d_model = x.shape
        heads = attrs["heads"]
        d = d_model // heads
        # contiguous heads: NumPy's stacked matmul reaches BLAS only for contiguous 2-D slices
        split = lambda a: np.ascontiguousarray(a.reshape(n, t, heads, d).transpose(0, 2, 1, 3))  # noqa: E731
        q = split(last_axis_matmul(x, params["q.weight"].T) + params["q.bias"])
        k = split(last_axis_matmul(x, params["k.weight"].T) + params["k.bias"])
        v = split(last_axis_matmul(x, params["v.weight"].T) + params["v.bias"])
        scale = x.dtype.type(1.0 / np.sqrt(d))
        allowed = allowed_keys(ctx.mask, t, attrs["causal"])
        p = masked_softmax((q @ _t(k)) * scale, allowed)       # [N, H, T, T]
        drop = None
        if ctx.training and attrs["dropout"] > 0:
            keep = ctx.rng.random(p.shape, dtype=np.float32) >= attrs["dropout"]
            drop = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - attrs["dropout"]))
        pd = p if drop is None else p * drop
        merged = (pd @ v).transpose(0, 2, 1, 3).reshape(n, t, d_model)           # [N, T, D]
        y = last_axis_matmul(merged, params["o.weight"].T) + params["o.bias"]
        has = None
        if allowed is not None:
            has = np.broadcast_to(allowed, (n, 1, t, t)).any(axis=-1)[:, 0, :, None].astype(x.dtype)  # [N, T, 1]
            y = y * has
        return y, (x, q, k, v, p, drop, pd, merged, has, scale, params, ctx.input_grad)

    def backward(self, dy, cache):
        x, q, k, v, p, drop, pd, merged, has, scale, params, input_grad = cache
        n, t, d_model = x.shape
        heads, d = q.shape[1], q.shape[3]
        split = lambda a: np.ascontiguousarray(a.reshape(n, t, heads, d).transpose(0, 2, 1, 3))  # noqa: E731
        merge = lambda a: a.transpose(0, 2, 1, 3).reshape(n, t, d_model)   # noqa: E731
        flat = lambda a: a.reshape(-1, d_model)                             # noqa: E731
        if has is not None:
            dy = dy * has
        grads = {"o.weight": flat(dy).T @ flat(merged), "o.bias": flat(dy).sum(axis=0)}
        dmerged = split(last_axis_matmul(dy, params["o.weight"]))                            # [N, H, T, d]
        dv = _t(pd) @ dmerged
        dp = dmerged @ _t(v)
        if drop is not None:
            dp = dp * drop
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True)) * scale       # softmax backward; 0 where masked
        dq = ds @ k
        dk = _t(ds) @ q
        dx = None
        for name, dproj in (("q", dq), ("k", dk), ("v", dv)):
            dproj = merge(dproj)
            grads[f"{name}.weight"] = flat(dproj).T @ flat(x)
            grads[f"{name}.bias"] = flat(dproj).sum(axis=0)
            if input_grad:
                part = last_axis_matmul(dproj, params[f"{name}.weight"])
                dx = part if dx is None else dx + part
        return dx, grads
