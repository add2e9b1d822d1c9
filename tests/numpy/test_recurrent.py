"""The NumPy recurrent units (rnn, lstm, gru) on arrays: against torch's own modules, and BPTT
against finite differences, with padding masks and both directions.

torch.nn.RNN/LSTM/GRU(batch_first=True) in float64 load our parameters with
`load_state_dict` (so the keys and gate order are PyTorch's), run the padded batch
through pack_padded_sequence(enforce_sorted=False), and give the reference outputs
and gradients of L = sum(y * R). 1e-10 allows for summation order only. The
finite-difference check (float64, h = 1e-6, central) is the one of the conformance
suite, here with masks, which the conformance cases (float inputs) do not have.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from gradcheck import numeric_grad
from specc.backends.numpy.ops import OPS, Context

TORCH_TOL = 1e-10
FD_TOL = 1e-6  # finite differences: h = 1e-6 in float64 (gradcheck.numeric_grad)
N, T, D, UNITS = 3, 5, 3, 4
LENGTHS = [5, 2, 3]   # one full sequence, two padded ones (unsorted, as enforce_sorted=False allows)
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TORCH_MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}

CONFIGS = [pytest.param(op, act, seq, bi, masked, id=f"{op}{'-relu' if act == 'relu' else ''}"
                        f"{'-seq' if seq else '-last'}{'-bi' if bi else ''}{'-mask' if masked else ''}")
           for op, act in (("rnn", "tanh"), ("rnn", "relu"), ("lstm", None), ("gru", None))
           for seq, bi, masked in itertools.product((False, True), repeat=3)]


def attrs_for(op, act, seq, bi):
    attrs = {"units": UNITS, "sequences": seq, "bidirectional": bi}
    if op == "rnn":
        attrs["act"] = act
    return attrs


def random_params(op, bi, seed=0):
    rng = np.random.default_rng(seed)
    rows = GATES[op] * UNITS
    params = {}
    for suffix in ("", "_reverse") if bi else ("",):
        params["weight_ih_l0" + suffix] = rng.uniform(-0.7, 0.7, (rows, D))
        params["weight_hh_l0" + suffix] = rng.uniform(-0.7, 0.7, (rows, UNITS))
        params["bias_ih_l0" + suffix] = rng.uniform(-0.5, 0.5, rows)
        params["bias_hh_l0" + suffix] = rng.uniform(-0.5, 0.5, rows)
    return params


def the_mask(masked):
    return (np.arange(T)[None, :] < np.array(LENGTHS)[:, None]) if masked else None


def numpy_forward(op, attrs, x, params, mask, input_grad=True):
    ctx = Context(True)
    ctx.mask, ctx.input_grad = mask, input_grad
    return OPS[op].forward(x, params, attrs, ctx)


def torch_reference(op, act, seq, bi, x, params, mask, r):
    """(y, dx, grads) of sum(y * r) through torch's module."""
    kwargs = {"nonlinearity": act} if op == "rnn" else {}
    module = TORCH_MODULES[op](D, UNITS, batch_first=True, bidirectional=bi, dtype=torch.float64, **kwargs)
    module.load_state_dict({k: torch.tensor(v) for k, v in params.items()})
    xt = torch.tensor(x, requires_grad=True)
    inp = xt if mask is None else pack_padded_sequence(xt, torch.tensor(LENGTHS), batch_first=True,
                                                       enforce_sorted=False)
    out, h_n = module(inp)
    if mask is not None:
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    h_n = h_n[0] if op == "lstm" else h_n
    y = out if seq else h_n.transpose(0, 1).reshape(N, -1)
    (y * torch.tensor(r)).sum().backward()
    return y.detach().numpy(), xt.grad.numpy(), {k: p.grad.numpy() for k, p in module.named_parameters()}


@pytest.mark.parametrize("op,act,seq,bi,masked", CONFIGS)
def test_matches_torch_module(op, act, seq, bi, masked):
    attrs, params, mask = attrs_for(op, act, seq, bi), random_params(op, bi), the_mask(masked)
    x = np.random.default_rng(1).standard_normal((N, T, D))
    y, cache = numpy_forward(op, attrs, x, params, mask)
    r = np.random.default_rng(2).standard_normal(y.shape)
    dx, grads = OPS[op].backward(r, cache)
    y_t, dx_t, grads_t = torch_reference(op, act, seq, bi, x, params, mask, r)
    assert y.shape == y_t.shape
    np.testing.assert_allclose(y, y_t, rtol=TORCH_TOL, atol=TORCH_TOL)
    np.testing.assert_allclose(dx, dx_t, rtol=TORCH_TOL, atol=TORCH_TOL)
    assert sorted(grads) == sorted(grads_t)
    for key in grads:
        np.testing.assert_allclose(grads[key], grads_t[key], rtol=TORCH_TOL, atol=TORCH_TOL, err_msg=key)


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-1))


@pytest.mark.parametrize("op,act,seq,bi,masked", [c for c in CONFIGS if c.values[0] != "rnn" or c.values[3]])
def test_backprop_through_time_matches_finite_differences(op, act, seq, bi, masked):
    attrs, params, mask = attrs_for(op, act, seq, bi), random_params(op, bi, seed=3), the_mask(masked)
    x = np.random.default_rng(4).standard_normal((N, T, D))
    y, cache = numpy_forward(op, attrs, x, params, mask)
    r = np.random.default_rng(5).standard_normal(y.shape)
    dx, grads = OPS[op].backward(r, cache)
    loss = lambda: float((numpy_forward(op, attrs, x, params, mask)[0] * r).sum())  # noqa: E731
    assert rel_err(dx, numeric_grad(loss, x)) < FD_TOL
    for key, value in params.items():
        assert rel_err(grads[key], numeric_grad(loss, value)) < FD_TOL, key


def test_padding_steps_neither_change_the_state_nor_get_gradients():
    """Changing the input at padding steps changes nothing; their input gradient is 0, outputs there 0."""
    attrs, params, mask = attrs_for("lstm", None, True, True), random_params("lstm", True), the_mask(True)
    x = np.random.default_rng(6).standard_normal((N, T, D))
    y, cache = numpy_forward("lstm", attrs, x, params, mask)
    x2 = np.where(mask[..., None], x, 100.0)
    y2, _ = numpy_forward("lstm", attrs, x2, params, mask)
    np.testing.assert_array_equal(y, y2)
    assert (y[~mask] == 0).all()
    dx, _ = OPS["lstm"].backward(np.ones_like(y), cache)
    assert (dx[~mask] == 0).all() and (dx[mask] != 0).all()


@pytest.mark.parametrize("op", ["rnn", "lstm", "gru"])
def test_float32_stays_float32(op):
    attrs = attrs_for(op, "tanh", True, True)
    params = {k: v.astype(np.float32) for k, v in random_params(op, True).items()}
    x = np.random.default_rng(1).standard_normal((N, T, D)).astype(np.float32)
    y, cache = numpy_forward(op, attrs, x, params, the_mask(True))
    dx, grads = OPS[op].backward(np.ones_like(y), cache)
    assert y.dtype == dx.dtype == np.float32
    assert {k for k, g in grads.items() if g.dtype != np.float32} == set()


def test_no_input_gradient_when_nobody_needs_it():
    """The model's first layer (ctx.input_grad False) skips dx, and its weight gradients are unchanged."""
    attrs, params, mask = attrs_for("gru", None, False, True), random_params("gru", True), the_mask(True)
    x = np.random.default_rng(1).standard_normal((N, T, D))
    y, cache = numpy_forward("gru", attrs, x, params, mask)
    _, cache_first = numpy_forward("gru", attrs, x, params, mask, input_grad=False)
    dx, grads = OPS["gru"].backward(np.ones_like(y), cache)
    dx_first, grads_first = OPS["gru"].backward(np.ones_like(y), cache_first)
    assert dx is not None and dx_first is None
    assert all(np.array_equal(grads[k], grads_first[k]) for k in grads)
