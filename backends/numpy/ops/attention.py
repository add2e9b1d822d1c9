"""attention: multi-head self-attention over a sequence x [N, T, D] (minGPT's layout, B, T, C).

    q, k, v = x Wqᵀ + bq, x Wkᵀ + bk, x Wvᵀ + bv        [N, T, D] -> heads [N, H, T, d], d = D / H
    s = q kᵀ / √d, with keys that are padding or (causal) later than the query left out
    p = softmax(s) over the allowed keys;  p' = dropout(p) while training
    y = merge(p' v) Woᵀ + bo, and 0 for a query that has no key to attend

The three projections are one product with the weights stacked [3D, D] (one BLAS call
instead of three). Backward consumes the named intermediates in reverse.
"""
from __future__ import annotations

import numpy as np

from ._base import Op, last_axis_matmul


def _t(a):
    """The last two axes swapped (a view: matmul hands the transpose to BLAS)."""
    return a.swapaxes(-1, -2)


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
    """softmax over the last axis among the allowed entries, in place on the fresh scores s;
    a row with none allowed is all zeros."""
    if allowed is not None:
        s += np.where(allowed, 0, -np.inf).astype(s.dtype)     # [N or 1, 1, T, T], broadcast
    top = s.max(axis=-1, keepdims=True)
    if allowed is not None:
        top[~np.isfinite(top)] = 0                               # no allowed key: exp(-inf) = 0 everywhere
    s -= top
    np.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if allowed is not None:
        total[total == 0] = 1
    s /= total
    return s


def stacked(params, kind: str):
    """The q, k, v weights (or biases) stacked along the output axis: [3D, D] (or [3D])."""
    return np.concatenate([params[f"{name}.{kind}"] for name in "qkv"])


class Attention(Op):
    name = "attention"

    def forward(self, x, params, attrs, ctx):
        n, t, d_model = x.shape
        heads = attrs["heads"]
        d = d_model // heads
        w_qkv = stacked(params, "weight")
        qkv = last_axis_matmul(x, w_qkv.T)
        qkv += stacked(params, "bias")
        # [N, T, 3, H, d] -> [3, N, H, T, d], contiguous heads for the stacked products
        q, k, v = np.ascontiguousarray(qkv.reshape(n, t, 3, heads, d).transpose(2, 0, 3, 1, 4))
        scale = x.dtype.type(1.0 / np.sqrt(d))
        allowed = allowed_keys(ctx.mask, t, attrs["causal"])
        s = q @ _t(k)
        s *= scale
        p = masked_softmax(s, allowed)                                            # [N, H, T, T]
        drop = None
        if ctx.training and attrs["dropout"] > 0:
            keep = ctx.rng.random(p.shape, dtype=np.float32) >= attrs["dropout"]
            drop = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - attrs["dropout"]))
        pd = p if drop is None else p * drop
        merged = (pd @ v).transpose(0, 2, 1, 3).reshape(n, t, d_model)           # [N, T, D]
        y = last_axis_matmul(merged, params["o.weight"].T)
        y += params["o.bias"]
        has = None
        if ctx.mask is not None:  # causal alone always leaves a query its own key
            has = np.broadcast_to(allowed, (n, 1, t, t)).any(axis=-1)[:, 0, :, None].astype(x.dtype)  # [N, T, 1]
            y *= has
        return y, (x, w_qkv, q, k, v, p, drop, pd, merged, has, scale, params["o.weight"], ctx.input_grad)

    def backward(self, dy, cache):
        x, w_qkv, q, k, v, p, drop, pd, merged, has, scale, w_o, input_grad = cache
        n, t, d_model = x.shape
        heads, d = q.shape[1], q.shape[3]
        split = lambda a: np.ascontiguousarray(a.reshape(n, t, heads, d).transpose(0, 2, 1, 3))  # noqa: E731
        flat = lambda a: a.reshape(-1, a.shape[-1])                         # noqa: E731
        if has is not None:
            dy = dy * has
        grads = {"o.weight": flat(dy).T @ flat(merged), "o.bias": flat(dy).sum(axis=0)}
        dmerged = split(last_axis_matmul(dy, w_o))                          # [N, H, T, d]
        dqkv = np.empty((n, t, 3, heads, d), x.dtype)                       # d q, d k, d v in q, k, v's layout
        dqkv_heads = dqkv.transpose(2, 0, 3, 1, 4)                          # [3, N, H, T, d] view
        np.matmul(_t(pd), dmerged, out=dqkv_heads[2])
        ds = dmerged @ _t(v)                                                # d p'
        if drop is not None:
            ds *= drop
        ds -= (ds * p).sum(axis=-1, keepdims=True)                          # softmax backward; 0 where masked
        ds *= p
        ds *= scale
        np.matmul(ds, k, out=dqkv_heads[0])
        np.matmul(_t(ds), q, out=dqkv_heads[1])
        dqkv = dqkv.reshape(n * t, 3 * d_model)
        w_grad, b_grad = flat(dqkv).T @ flat(x), dqkv.sum(axis=0)
        for i, name in enumerate("qkv"):
            grads[f"{name}.weight"] = w_grad[i * d_model:(i + 1) * d_model]
            grads[f"{name}.bias"] = b_grad[i * d_model:(i + 1) * d_model]
        dx = (dqkv @ w_qkv).reshape(x.shape) if input_grad else None
        return dx, grads
