"""Losses: each returns (loss, gradient of the loss w.r.t. its input).

Semantics (docs/ARCHITECTURE.md): mean over the batch; mse/mae/huber also
average over output elements. cross_entropy / bce / nll are *fused*: when the
model ends in softmax / sigmoid / log_softmax they take the input of that last
activation (the logits) and use log-sum-exp / softplus forms, so a saturated
output never produces log(0). Unfused forms (the model ends elsewhere) take
the model output directly.

Targets: integer class indices [N] or float arrays shaped like the output
(a float [N] target for an [N, 1] output is accepted). Class indices are in range:
the data loader checks them once, naming the file and row (specc/data/targets.py).
"""
from __future__ import annotations

import numpy as np

from specc.errors import DataError
from specc.ops import LOSSES

from .ops._base import softplus, stable_sigmoid
from .ops.log_softmax import log_softmax


def fused_with(loss: str, last_op: str | None) -> bool:
    """True when `loss` is computed from the logits of the model's last activation."""
    return LOSSES.get(loss, ({}, None))[1] is not None and LOSSES[loss][1] == last_op


def _is_index(t) -> bool:
    return np.issubdtype(t.dtype, np.integer)


def dense_target(t, like) -> np.ndarray:
    """Target as a float array of the output's shape (one-hot for class indices)."""
    if _is_index(t) and like.ndim == 2 and like.shape[1] > 1 and t.ndim == 1:
        onehot = np.zeros(like.shape, like.dtype)
        onehot[np.arange(t.shape[0]), t] = 1
        return onehot
    if t.size != like.size:
        raise DataError(f"targets of shape {list(t.shape[1:])} do not match the model output "
                        f"shape {list(like.shape[1:])}")
    return t.reshape(like.shape).astype(like.dtype, copy=False)


def mse(o, t, args):
    d = o - dense_target(t, o)
    return float(np.mean(d * d)), d * (2.0 / d.size)


def mae(o, t, args):
    d = o - dense_target(t, o)
    return float(np.mean(np.abs(d))), np.sign(d) * (1.0 / d.size)


def huber(o, t, args):
    """0.5 d^2 for |d| <= delta, delta (|d| - delta/2) beyond (PyTorch's huber_loss)."""
    delta = float(args.get("delta", 1.0))
    d = o - dense_target(t, o)
    a = np.abs(d)
    small = a <= delta
    per = np.where(small, 0.5 * d * d, delta * (a - 0.5 * delta))
    return float(np.mean(per)), np.where(small, d, delta * np.sign(d)) * (1.0 / d.size)


def _class_xent(logp, t):
    """-mean over the batch of sum(t * logp); t class indices or probabilities."""
    n = logp.shape[0]
    if _is_index(t):
        return -float(logp[np.arange(n), t].sum()) / n
    return -float((dense_target(t, logp) * logp).sum()) / n


def _softmax_xent_grad(logp, t):
    """d/dz of -sum(t log softmax(z)) / N = (softmax(z) * sum(t) - t) / N, from logp = log_softmax(z)."""
    n = logp.shape[0]
    g = np.exp(logp)
    if _is_index(t):
        g[np.arange(n), t] -= 1
    else:
        td = dense_target(t, logp)
        g *= td.sum(axis=1, keepdims=True)
        g -= td
    g *= 1.0 / n
    return g


def _weighted_targets(t, like, weights, smoothing):
    """(a, denominator) of PyTorch's cross_entropy: loss = -sum(a * log p) / denominator.

    a = smoothed target * class weight. Class-index targets: the target is
    (1 - s) one-hot + s / C and the denominator the sum of the targets' weights;
    probability targets: (1 - s) t + s / C, denominator the batch size.
    """
    n, c = like.shape[0], like.shape[1]
    a = dense_target(t, like)
    if smoothing:
        a = a * (1.0 - smoothing) + smoothing / c
    denom = float(n)
    if weights is not None:
        w = np.asarray(weights, dtype=like.dtype).reshape((1, c) + (1,) * (like.ndim - 2))
        a = a * w
        if _is_index(t):
            denom = float(np.asarray(weights, dtype=np.float64)[t].sum())
    return a, denom


def cross_entropy(o, t, args, fused=True):
    """PyTorch's F.cross_entropy(weight=weights, label_smoothing=...), fused from the logits."""
    weights, smoothing = args.get("weights"), float(args.get("label_smoothing") or 0.0)
    if fused and weights is None and not smoothing:  # o are the logits
        logp = log_softmax(o)
        return _class_xent(logp, t), _softmax_xent_grad(logp, t)
    if fused:
        logp = log_softmax(o)
        a, denom = _weighted_targets(t, o, weights, smoothing)
        g = np.exp(logp) * a.sum(axis=1, keepdims=True) - a  # d/dz of -sum(a log softmax(z))
        return -float((a * logp).sum()) / denom, g / denom
    p = np.maximum(o, np.finfo(o.dtype).tiny)  # o are probabilities
    a, denom = _weighted_targets(t, o, weights, smoothing)
    return -float((a * np.log(p)).sum()) / denom, -a / p / denom


def focal(o, t, args, fused=True):
    """Softmax focal loss (Lin et al. 2017): mean over the batch of -sum_c t_c (1 - p_c)^gamma log p_c.

    Fused: o are the logits, p = softmax(o) from log_softmax (stable). With
    f(p) = -(1-p)^gamma log p, d/dz_j sum_c t_c f(p_c) = g_j - p_j sum_c g_c where
    g_c = t_c p_c f'(p_c) = t_c (gamma (1-p_c)^(gamma-1) p_c log p_c - (1-p_c)^gamma).
    """
    gamma = float(args.get("gamma", 2.0))
    n = o.shape[0]
    logp = log_softmax(o) if fused else np.log(np.maximum(o, np.finfo(o.dtype).tiny))
    p = np.exp(logp)
    q = np.maximum(-np.expm1(logp), np.finfo(o.dtype).tiny)  # 1 - p, accurate near p = 1, never 0
    td = dense_target(t, logp)
    loss = -float((td * q ** gamma * logp).sum()) / n
    g = td * (gamma * q ** (gamma - 1.0) * p * logp - q ** gamma)
    if fused:
        return loss, (g - p * g.sum(axis=1, keepdims=True)) / n
    return loss, g / p / n  # d/dp: g_c / p_c


def nll(o, t, args, fused=True):
    if fused:  # o are the logits of the final log_softmax
        logp = log_softmax(o)
        return _class_xent(logp, t), _softmax_xent_grad(logp, t)
    td = dense_target(t, o)  # o are log-probabilities
    return -float((td * o).sum()) / o.shape[0], -td / o.shape[0]


def bce(o, t, args, fused=True, steepness=1.0):
    """Summed over output units, mean over the batch. Fused: o are the inputs of
    sigmoid(steepness), so the logits are steepness * o.

    pos_weight (PyTorch's): the positive term is weighted,
    -(pw t log p + (1 - t) log(1 - p)); fused, pw t softplus(-z) + (1 - t) softplus(z).
    """
    td = dense_target(t, o)
    n = o.shape[0]
    pw = args.get("pos_weight")
    if pw is not None:
        pw = np.asarray(pw, dtype=o.dtype)
    if fused:
        z = o * steepness if steepness != 1.0 else o
        if pw is None:
            loss = float((softplus(z) - td * z).sum()) / n
            return loss, (stable_sigmoid(z) - td) * (steepness / n)
        loss = float((pw * td * softplus(-z) + (1 - td) * softplus(z)).sum()) / n
        s = stable_sigmoid(z)
        return loss, ((1 - td) * s - pw * td * (1 - s)) * (steepness / n)
    eps = np.finfo(o.dtype).eps
    p = np.clip(o, eps, 1 - eps)
    if pw is None:
        loss = -float((td * np.log(p) + (1 - td) * np.log1p(-p)).sum()) / n
        return loss, (p - td) / (p * (1 - p)) / n
    loss = -float((pw * td * np.log(p) + (1 - td) * np.log1p(-p)).sum()) / n
    return loss, ((1 - td) / (1 - p) - pw * td / p) / n


_UNFUSABLE = {"mse": mse, "mae": mae, "huber": huber}
_FUSABLE = {"cross_entropy": cross_entropy, "nll": nll, "bce": bce, "focal": focal}


def per_position(o: np.ndarray, t: np.ndarray) -> bool:
    """Per-position targets for a sequence output [N, T, C]: class indices [N, T] or
    probabilities (any float target) [N, T, C]."""
    return o.ndim == 3 and ((t.ndim == 2 and _is_index(t)) or (t.shape == o.shape and not _is_index(t)))


def position_mask(t: np.ndarray, mask=None) -> np.ndarray:
    """[N * T] bool, True at the positions that count: not marked -1 (class indices, see
    specc/data/targets.py) and real in the output's padding mask ([N, T], None: no padding)."""
    keep = t.reshape(-1) >= 0 if t.ndim == 2 else np.ones(t.shape[0] * t.shape[1], bool)
    if mask is not None:
        keep &= np.asarray(mask).reshape(-1)
    return keep


def loss_weight(ys, n: int, outputs: int, mask=None) -> int:
    """What a batch's mean loss counts, to average batches: its examples, or for a single output
    with per-position targets its non-padding positions (so the split's loss is their mean)."""
    if outputs == 1 and ys is not None:
        t = ys[0] if isinstance(ys, (list, tuple)) else ys
        if (t.ndim == 2 and _is_index(t)) or (t.ndim == 3 and not _is_index(t)):
            return int(position_mask(t, mask).sum())
    return n


def compute(name: str, args: dict, o: np.ndarray, t: np.ndarray, *, fused: bool = False,
            steepness: float = 1.0, mask=None) -> tuple[float, np.ndarray]:
    """(mean loss, d loss / d o). With fused=True, `o` is the input of the last activation.

    Per-position targets (a sequence output [N, T, C]; class indices [N, T] or probabilities
    [N, T, C]): the positions form the batch, and padding positions are left out (a negative
    class index, or False in `mask`, the output's padding mask [N, T]), so the loss is the mean
    over the non-padding positions of the batch (docs/language.md).
    """
    if per_position(o, t):
        flat_o = o.reshape(-1, o.shape[-1])
        flat_t = t.reshape(-1) if t.ndim == 2 else t.reshape(-1, t.shape[-1])
        keep = position_mask(t, mask)
        if keep.all():  # no padding: the positions as they are, no copies
            loss, g = compute(name, args, flat_o, flat_t, fused=fused, steepness=steepness)
            return loss, g.reshape(o.shape)
        grad = np.zeros_like(flat_o)
        if not keep.any():
            return 0.0, grad.reshape(o.shape)
        loss, g = compute(name, args, flat_o[keep], flat_t[keep], fused=fused, steepness=steepness)
        grad[keep] = g
        return loss, grad.reshape(o.shape)
    if name in _UNFUSABLE:
        return _UNFUSABLE[name](o, t, args)
    if name == "bce":
        return bce(o, t, args, fused=fused, steepness=steepness)
    if name in _FUSABLE:
        return _FUSABLE[name](o, t, args, fused=fused)
    raise ValueError(f"unknown loss {name!r}")


LOSS_FUNCTIONS = {**_UNFUSABLE, **_FUSABLE}
