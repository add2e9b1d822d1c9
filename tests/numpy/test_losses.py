"""Every loss against central finite differences and against PyTorch (float64).

Tolerances as in test_ops.py: central differences with h = 1e-6 in float64
agree with a correct gradient to ~1e-9 relative; 1e-6 leaves a wide margin
while a wrong factor (e.g. a missing 1/N) gives an error of order 1.
Targets/outputs for mae and huber are kept >= 0.05 away from their kinks.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from specc.backends.numpy import losses
from specc.backends.numpy.ops.log_softmax import log_softmax
from specc.backends.numpy.ops.softmax import softmax
from specc.ops import LOSSES

H, FD_TOL, TORCH_TOL = 1e-6, 1e-6, 1e-10
N, C = 5, 4


def targets(kind, rng, shape):
    if kind == "index":
        return rng.integers(0, shape[1], shape[0]).astype(np.int64)
    if kind == "binary":  # bce with one output unit and class indices {0, 1}
        return rng.integers(0, 2, shape[0]).astype(np.int64)
    if kind == "probs":
        return softmax(rng.standard_normal(shape))
    if kind == "unit":
        return rng.uniform(0, 1, shape)
    return rng.standard_normal(shape)  # "real"


def output(kind, rng, shape, t, delta=1.0):
    """Model outputs (or logits). For kinked losses, residuals stay away from 0 and +-delta."""
    if kind == "probs":
        return softmax(rng.standard_normal(shape))
    if kind == "logprobs":
        return log_softmax(rng.standard_normal(shape))
    if kind == "sigmoid":
        return rng.uniform(0.1, 0.9, shape)
    if kind == "kinked":
        t_dense = t.reshape(shape) if t.shape == shape or t.size == np.prod(shape) else None
        d = rng.uniform(0.05, 2.0, shape) * rng.choice([-1, 1], shape)
        d = np.where(np.abs(np.abs(d) - delta) < 0.05, d * 1.2, d)
        return t_dense + d
    return rng.standard_normal(shape)


def case(loss, out_kind, tgt_kind, shape=(N, C), fused=False, id_extra="", **args):
    return pytest.param(loss, out_kind, tgt_kind, shape, fused, args,
                        id=f"{loss}-{out_kind}-{tgt_kind}-{shape}-fused={fused}{id_extra}")


CASES = [
    case("mse", "logits", "real"),
    case("mse", "logits", "index"),           # class indices become one-hot vectors
    case("mse", "logits", "real", shape=(N, 1)),
    case("mae", "kinked", "real"),
    case("huber", "kinked", "real"),
    case("huber", "kinked", "real", delta=0.5),
    case("bce", "logits", "unit", fused=True),
    case("bce", "logits", "binary", shape=(N, 1), fused=True),
    case("bce", "logits", "unit", fused=True, steepness=2.0),
    case("bce", "sigmoid", "unit"),
    case("cross_entropy", "logits", "index", fused=True),
    case("cross_entropy", "logits", "probs", fused=True),
    case("cross_entropy", "probs", "index"),
    case("cross_entropy", "probs", "probs"),
    case("focal", "logits", "index", fused=True, gamma=2.0),
    case("focal", "logits", "probs", fused=True, gamma=0.5),
    case("focal", "probs", "index", gamma=2.0),
    case("nll", "logits", "index", fused=True),
    case("nll", "logits", "probs", fused=True),
    case("nll", "logprobs", "index"),
]


def make(loss, out_kind, tgt_kind, shape, args):
    rng = np.random.default_rng(0)
    t = targets(tgt_kind, rng, shape)
    o = output(out_kind, rng, shape, t, delta=args.get("delta", 1.0))
    return o, t


def call(loss, o, t, fused, args):
    args = dict(args)
    steep = args.pop("steepness", 1.0)
    return losses.compute(loss, args, o, t, fused=fused, steepness=steep)


@pytest.mark.parametrize("loss,out_kind,tgt_kind,shape,fused,args", CASES)
def test_loss_gradient_matches_finite_differences(loss, out_kind, tgt_kind, shape, fused, args):
    o, t = make(loss, out_kind, tgt_kind, shape, args)
    value, g = call(loss, o, t, fused, args)
    assert np.isfinite(value) and g.shape == o.shape
    num = np.zeros_like(o)
    for i in np.ndindex(o.shape):
        old = o[i]
        o[i] = old + H
        fp = call(loss, o, t, fused, args)[0]
        o[i] = old - H
        fm = call(loss, o, t, fused, args)[0]
        o[i] = old
        num[i] = (fp - fm) / (2 * H)
    err = np.linalg.norm(g - num) / max(np.linalg.norm(g), np.linalg.norm(num), 1e-12)
    assert err < FD_TOL, f"relative error {err:.2e}"


def test_every_loss_has_a_case():
    assert set(LOSSES) == {p.values[0] for p in CASES} == set(losses.LOSS_FUNCTIONS)


def _torch_loss(loss, o, t, shape, fused, args):
    n = o.shape[0]
    tt = torch.tensor(t)
    tf = tt.to(o.dtype).reshape(o.shape) if not (loss in ("cross_entropy", "nll", "mse", "focal")
                                                and t.dtype == np.int64) else tt
    if loss == "mse":
        if t.dtype == np.int64:
            tf = F.one_hot(tt, o.shape[1]).to(o.dtype)
        return F.mse_loss(o, tf)
    if loss == "mae":
        return F.l1_loss(o, tf)
    if loss == "huber":
        return F.huber_loss(o, tf, delta=args.get("delta", 1.0))
    if loss == "bce":
        if fused:
            return F.binary_cross_entropy_with_logits(args.get("steepness", 1.0) * o, tf, reduction="sum") / n
        return F.binary_cross_entropy(o, tf, reduction="sum") / n
    if loss == "cross_entropy":
        if fused:
            return F.cross_entropy(o, tt)
        return F.nll_loss(torch.log(o), tt) if t.dtype == np.int64 else -(tt * torch.log(o)).sum() / n
    if loss == "nll":
        logp = F.log_softmax(o, 1) if fused else o
        return F.nll_loss(logp, tt) if t.dtype == np.int64 else -(tt * logp).sum() / n
    if loss == "focal":  # -sum_c t_c (1 - p_c)^gamma log p_c, mean over the batch
        logp = F.log_softmax(o, 1) if fused else torch.log(o)
        td = F.one_hot(tt, o.shape[1]).to(o.dtype) if t.dtype == np.int64 else tf
        return -(td * (1 - logp.exp()) ** args["gamma"] * logp).sum() / n
    raise AssertionError(loss)


@pytest.mark.parametrize("loss,out_kind,tgt_kind,shape,fused,args", CASES)
def test_loss_matches_torch(loss, out_kind, tgt_kind, shape, fused, args):
    o, t = make(loss, out_kind, tgt_kind, shape, args)
    value, g = call(loss, o, t, fused, args)
    ot = torch.tensor(o, requires_grad=True)
    lt = _torch_loss(loss, ot, t, shape, fused, args)
    lt.backward()
    np.testing.assert_allclose(value, lt.item(), rtol=TORCH_TOL, atol=TORCH_TOL)
    np.testing.assert_allclose(g, ot.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


def test_fused_losses_are_stable_for_huge_logits():
    """log-sum-exp / softplus forms: no overflow, no log(0), finite gradients."""
    z = np.array([[1e4, -1e4, 0.0], [-800.0, 800.0, 3.0]], np.float32)
    t = np.array([1, 0])
    for name in ("cross_entropy", "nll"):
        value, g = losses.compute(name, {}, z, t, fused=True)
        assert np.isfinite(value) and np.isfinite(g).all() and value > 1e3
    value, g = losses.compute("bce", {}, z[:, :1], np.array([0, 1]), fused=True)
    assert np.isfinite(value) and np.isfinite(g).all()
    assert g.dtype == np.float32
