"""The NumPy reference backend on every case: analytic gradients against finite differences.

The whole compiled model runs in float64; the scalar is L = sum(outputs * R)
for a fixed random R, and the analytic gradients of the input and of every
trainable parameter are compared with central differences.

Tolerance: with h = 1e-6 the truncation error is ~h^2 * |f'''| ~ 1e-12 and the
round-off ~eps * |L| / h ~ 1e-10 (L is O(10) here), so a correct backward
agrees to ~1e-9 in the norm-relative error; 1e-6 leaves a 1000x margin while a
real bug (a wrong factor, index or sign) gives an error of order 1. Inputs of
kinked ops are kept >= 0.05 from the kinks (Example.kinks), max-like ops get
distinct inputs, far beyond h. Where the true gradient is exactly zero (a bias
before batchnorm in training mode) both sides are pure round-off, so the
error also passes under an absolute floor of 1e-7 (round-off ~1e-10 per
element, times sqrt(elements) <= ~30, leaves a 30x margin; a wrong non-zero
gradient is O(0.1) or more). Running statistics updated by training-mode
forwards do not affect training-mode outputs, so repeated forwards are
consistent.
"""
from __future__ import annotations

import numpy as np
import pytest
from gradcheck import numeric_grad
from conformance_cases import (CASES, IDS, make_input, numpy_context, numpy_loss, numpy_run, output_weights,
                               random_params, trainable_keys)

FD_TOL = 1e-6
FD_FLOOR = 1e-7


def rel_err(a, b) -> float:
    """Norm-relative error, with the absolute floor FD_FLOOR for gradients that are zero."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), FD_FLOOR / FD_TOL))



def _setup(case, dtype=np.float64):
    ex, prog = case.example, case.program
    batch = max(ex.batches)  # batch statistics need more than one example
    x = make_input(ex, batch, dtype=dtype)
    return prog, x, random_params(prog, dtype=dtype), output_weights(prog, batch, dtype=dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_finite_differences(case):
    prog, x, params, rs = _setup(case)
    training = case.example.training
    _, dx, grads = numpy_run(prog, params, x, rs, training)
    loss = lambda: numpy_loss(prog, params, x, rs, training)  # noqa: E731
    if case.example.tokens:  # token ids have no gradient
        assert dx is None
    else:
        assert dx.shape == x.shape
        err = rel_err(dx, numeric_grad(loss, x))
        assert err < FD_TOL, f"{case.id}: d input relative error {err:.2e}"
    assert sorted(grads) == sorted(trainable_keys(prog))
    for key in trainable_keys(prog):
        assert grads[key].shape == params[key].shape, key
        err = rel_err(grads[key], numeric_grad(loss, params[key]))
        assert err < FD_TOL, f"{case.id}: d {key} relative error {err:.2e}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_stays_float32(case):
    """No op silently promotes float32 activations or gradients to float64."""
    prog, x, params, rs = _setup(case, np.float32)
    outs, dx, grads = numpy_run(prog, params, x, rs, case.example.training)
    assert all(y.dtype == np.float32 for y in outs) and (dx is None or dx.dtype == np.float32)
    assert {k: g.dtype for k, g in grads.items() if g.dtype != np.float32} == {}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backward_leaves_its_inputs_alone(case):
    """A value feeding several layers (a residual's shortcut) is reused after its consumers ran:
    no op may write into its input, and no backward into the gradient it is given."""
    from specc.backends.numpy.model import Network
    from specc.backends.numpy.ops import OPS

    prog, x, params, _ = _setup(case)
    tape: list = []
    env = Network(prog.model, params).forward(x, numpy_context(case.example.training), tape=tape, input_grad=True)
    before = {k: v.copy() for k, v in env.items()}
    rng = np.random.default_rng(2)
    for layer, cache in tape:
        dy = rng.standard_normal(env[layer.name].shape)
        dy0 = dy.copy()
        OPS[layer.op].backward(dy, cache)
        np.testing.assert_array_equal(dy, dy0, err_msg=f"{layer.op} wrote into its output gradient")
    for k, v in env.items():
        np.testing.assert_array_equal(v, before[k], err_msg=f"value {k} changed by a backward")
