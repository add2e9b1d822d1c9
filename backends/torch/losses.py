"""LOSS_TABLE: data losses, fused from logits where the architecture page says so.

Each row is `fn(h, out, y, args, last, fused) -> scalar tensor` where `out` is the model
output, `h` the input of the last layer (the logits when the loss is fused:
cross_entropy after softmax, bce after sigmoid, nll after log_softmax) and
`last` that layer (for sigmoid's steepness). The unfused forms (e.g. cross_entropy
on a model that ends elsewhere) read `out`, like the NumPy reference. Means follow ARCHITECTURE.md:
over the batch for cross_entropy/bce/nll (summing over the other output
elements), over every element for mse/mae/huber.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ...ops import LOSSES

# Which loss is computed from the logits of which final activation: one definition, in the catalog.
FUSED = {name: last for name, (_args, last) in LOSSES.items() if last}


def _per_sample_mean(per_element):
    """Sum over every axis but the batch axis, then mean over the batch."""
    return per_element.reshape(per_element.shape[0], -1).sum(1).mean()


def dense_target(y, out):
    """Regression-style target of the output's shape: class indices become one-hot
    vectors (or the 0/1 value itself for a single output unit)."""
    if _is_index(y):
        if out.shape[1:] == (1,):
            return y.to(out.dtype).reshape(out.shape)
        return F.one_hot(y.long(), out.shape[1]).to(out.dtype)
    return y.to(out.dtype).reshape(out.shape)


def _is_index(y):
    return y.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8)


def _class_weights(args, like):
    w = args.get("weights")
    return None if w is None else torch.as_tensor(w, dtype=like.dtype, device=like.device)


def _cross_entropy(h, out, y, args, last, fused=True):
    weight, smoothing = _class_weights(args, h), float(args.get("label_smoothing") or 0.0)
    if weight is not None or smoothing:
        # F.cross_entropy's rules (weighted mean over the targets' weights for class indices);
        # unfused, the probabilities' log stands in for log_softmax (as nll on log-probabilities).
        logits = h if fused else torch.log(torch.clamp(out, min=torch.finfo(out.dtype).tiny))
        target = y.long() if _is_index(y) else y.to(logits.dtype).reshape(logits.shape)
        return F.cross_entropy(logits, target, weight=weight, label_smoothing=smoothing)
    if fused and _is_index(y):
        return F.cross_entropy(h, y)  # log_softmax + nll in one call
    if fused:
        logp = torch.log_softmax(h, 1)
    else:  # out are probabilities; clamp at the smallest normal float like the NumPy reference
        logp = torch.log(torch.clamp(out, min=torch.finfo(out.dtype).tiny))
    if _is_index(y):
        return F.nll_loss(logp, y.long())
    return _per_sample_mean(-y.to(logp.dtype).reshape(logp.shape) * logp)


def _nll(h, out, y, args, last, fused=True):
    # fused: log_softmax(h) is what the model's last layer computes; unfused: out are log-probabilities.
    if fused:
        out = torch.log_softmax(h, 1)
    if _is_index(y):
        return F.nll_loss(out, y.long())
    return _per_sample_mean(-y.to(out.dtype).reshape(out.shape) * out)


def _bce(h, out, y, args, last, fused=True):
    if not fused:  # out are probabilities, clipped to [eps, 1 - eps]
        eps = torch.finfo(out.dtype).eps
        p, t = torch.clamp(out, eps, 1 - eps), dense_target(y, out)
        if args.get("pos_weight") is not None:
            pw = torch.as_tensor(args["pos_weight"], dtype=p.dtype, device=p.device)
            return _per_sample_mean(-(pw * t * torch.log(p) + (1 - t) * torch.log1p(-p)))
        return _per_sample_mean(F.binary_cross_entropy(p, t, reduction="none"))
    steep = float(last.attrs.get("steepness", 1.0)) if last is not None else 1.0
    z = h * steep if steep != 1.0 else h
    target = dense_target(y, z)
    pw = args.get("pos_weight")
    pw = None if pw is None else torch.as_tensor(pw, dtype=z.dtype, device=z.device)
    return _per_sample_mean(F.binary_cross_entropy_with_logits(z, target, reduction="none", pos_weight=pw))


def _focal(h, out, y, args, last, fused=True):
    """Softmax focal loss: mean over the batch of -sum_c t_c (1 - p_c)^gamma log p_c."""
    gamma = float(args["gamma"])
    logp = torch.log_softmax(h, 1) if fused else torch.log(torch.clamp(out, min=torch.finfo(out.dtype).tiny))
    q = torch.clamp(-torch.expm1(logp), min=torch.finfo(logp.dtype).tiny)  # 1 - p, never 0
    return _per_sample_mean(-dense_target(y, logp) * q ** gamma * logp)


def _mse(h, out, y, args, last, fused=False):
    return F.mse_loss(out, dense_target(y, out))


def _mae(h, out, y, args, last, fused=False):
    return F.l1_loss(out, dense_target(y, out))


def _huber(h, out, y, args, last, fused=False):
    return F.huber_loss(out, dense_target(y, out), delta=float(args.get("delta", 1.0)))


LOSS_TABLE = {
    "cross_entropy": _cross_entropy,
    "nll": _nll,
    "bce": _bce,
    "focal": _focal,
    "mse": _mse,
    "mae": _mae,
    "huber": _huber,
}


def is_fused(loss_spec, last_layer) -> bool:
    """Whether the loss reads the logits h only (the model output is then not needed)."""
    return last_layer is not None and FUSED.get(loss_spec.name) == last_layer.op


def _listed(v):
    """A bare tensor stands for the list of a single-output model's values."""
    return [v] if torch.is_tensor(v) else v


def _per_position(h, y) -> bool:
    """Per-position targets for a sequence output [N, T, C]: class indices [N, T] or probabilities [N, T, C]."""
    return h.dim() == 3 and ((y.dim() == 2 and _is_index(y)) or (y.shape == h.shape and not _is_index(y)))


def _position_loss(fn, h, out, y, args, producer, fused, mask=None):
    """The loss over positions as the batch, padding (a negative class index, or False in the
    output's padding mask) left out: the mean over the non-padding positions of the batch (as the
    NumPy reference)."""
    index = y.dim() == 2
    flat_y = y.reshape(-1).long() if index else y.reshape(-1, y.shape[-1])
    if index and mask is not None:
        flat_y = torch.where(mask.reshape(-1), flat_y, -1)
    if index and fn is _cross_entropy and fused and args.get("weights") is None and not args.get("label_smoothing"):
        # one kernel, no boolean indexing (no device sync): sum over real positions / their count
        total = F.cross_entropy(h.reshape(-1, h.shape[-1]), flat_y, ignore_index=-1, reduction="sum")
        return total / (flat_y >= 0).sum().clamp(min=1)
    if not index and mask is None:  # every position counts: no boolean indexing (no device sync)
        return fn(h.reshape(-1, h.shape[-1]), out.reshape(-1, out.shape[-1]), flat_y, args, producer, fused)
    keep = flat_y >= 0 if index else mask.reshape(-1)
    flat = lambda t: t.reshape(-1, t.shape[-1])[keep]  # noqa: E731
    if not bool(keep.any()):
        return h.sum() * 0.0
    return fn(flat(h), flat(out), flat_y[keep], args, producer, fused)


def position_weight(ys, n: int, outputs: int, mask=None):
    """What a batch's mean loss counts, to average batches: its examples, or for a single output with
    per-position targets its non-padding positions (a tensor: no device sync), as the NumPy backend."""
    if outputs == 1 and ys is not None:
        t = ys if torch.is_tensor(ys) else ys[0]
        if t.dim() == 2 and _is_index(t):
            keep = t >= 0
        elif t.dim() == 3 and not _is_index(t):
            keep = torch.ones(t.shape[:2], dtype=torch.bool, device=t.device)
        else:
            return float(n)
        if mask is not None:
            keep = keep & mask
        return keep.sum().double()
    return float(n)


def make_loss(program):
    """A closure loss(hs, outs, ys, masks=None) -> the weighted total over the model's outputs.

    hs are the values each loss reads (the logits of a fused output activation, else the
    output), outs the outputs (None when training skipped fused activations), ys the targets,
    masks the outputs' padding masks ([N, T] bool or None each; the model's output_masks).
    """
    model = program.model
    parts = []
    for out, ol in zip(model.outputs, program.train.losses):
        producer = model.producer(out.value)
        parts.append((LOSS_TABLE[ol.loss.name], dict(ol.loss.args), producer, is_fused(ol.loss, producer),
                      float(ol.weight)))

    def loss(hs, outs, ys, masks=None):
        hs, ys = _listed(hs), _listed(ys)
        outs = None if outs is None else _listed(outs)
        total = None
        for k, (fn, args, producer, fused, weight) in enumerate(parts):
            h, out, y = hs[k], (outs[k] if outs is not None else hs[k]), ys[k]
            if _per_position(h, y):
                value = _position_loss(fn, h, out, y, args, producer, fused, masks[k] if masks else None)
            else:
                value = fn(h, out, y, args, producer, fused)
            value = value * weight if weight != 1.0 else value
            total = value if total is None else total + value
        return total

    return loss
