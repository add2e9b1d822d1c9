"""NumPy ops where the conformance suite cannot look: kinks, ties, all-zero windows.

Every op's forward and backward against finite differences and against torch,
dtype preservation and untouched inputs are the conformance suite's job
(tests/conformance). Finite differences are undefined exactly at a kink or a
tie; there the subgradient must be the one PyTorch picks, so that both
backends train identically. Everything runs in float64; 1e-10 allows for
summation-order differences only.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from specc.backends.numpy.ops import OPS, Context

TORCH_TOL = 1e-10

TORCH = {
    "relu": lambda x, a: F.relu(x),
    "leaky_relu": lambda x, a: F.leaky_relu(x, a["alpha"]),
    "hard_sigmoid": lambda x, a: F.hardtanh(x, 0.0, 1.0),
    "elu": lambda x, a: F.elu(x, a["alpha"]),
    "selu": lambda x, a: F.selu(x),
    "relu6": lambda x, a: F.relu6(x),
    "hard_swish": lambda x, a: F.hardswish(x),
}


def run_op(op, x, params, attrs, training=True):
    return OPS[op].forward(x, params, attrs, Context(training, rng=np.random.default_rng(123)))


# -- at the kinks: the subgradient PyTorch picks ----------------------------------------------
KINKS = [
    ("relu", {}, [-1.0, 0.0, 2.0]),
    ("leaky_relu", {"alpha": 0.1}, [-1.0, 0.0, 2.0]),
    ("hard_sigmoid", {}, [-1.0, 0.0, 0.5, 1.0, 2.0]),
    ("elu", {"alpha": 1.0}, [-1.0, 0.0, 2.0]),
    ("selu", {}, [-1.0, 0.0, 2.0]),
    ("relu6", {}, [-1.0, 0.0, 3.0, 6.0, 7.0]),
    ("hard_swish", {}, [-4.0, -3.0, 0.0, 3.0, 4.0]),
]


@pytest.mark.parametrize("op,attrs,values", KINKS, ids=[k[0] for k in KINKS])
def test_kink_gradients_match_torch(op, attrs, values):
    x = np.array([values])
    xt = torch.tensor(x, requires_grad=True)
    TORCH[op](xt, attrs).sum().backward()
    dx, _ = OPS[op].backward(np.ones_like(x), run_op(op, x, {}, attrs)[1])
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


@pytest.mark.parametrize("size,stride", [((2, 2), (2, 2)), ((3, 3), (1, 1))])
def test_maxpool_ties_route_to_the_first_maximum_like_torch(size, stride):
    """After a relu whole windows are 0: the gradient goes to one element, not all of them."""
    x = np.maximum(np.random.default_rng(0).standard_normal((2, 2, 6, 6)), 0)
    x[0, 0, :3, :3] = 0.0
    x[1, 1, 2:4, 2:4] = 1.5
    xt = torch.tensor(x, requires_grad=True)
    yt = F.max_pool2d(xt, size, stride)
    r = np.random.default_rng(1).standard_normal(yt.shape)
    yt.backward(torch.tensor(r))
    y, cache = run_op("maxpool", x, {}, {"size": size, "stride": stride, "pad": (0, 0, 0, 0)})
    dx, _ = OPS["maxpool"].backward(r, cache)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


def test_l2pool_gradient_is_finite_on_an_all_zero_field():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = [[3.0, 4.0], [0.0, 0.0]]
    y, cache = run_op("l2pool", x, {}, {"size": (2, 2), "stride": (2, 2), "pad": (0, 0, 0, 0)})
    assert y[0, 0, 1, 1] == 5.0 and y[0, 0, 0, 0] == 0.0
    dx, _ = OPS["l2pool"].backward(np.ones_like(y), cache)
    assert np.isfinite(dx).all() and dx[0, 0, :2, :2].sum() == 0
    np.testing.assert_allclose(dx[0, 0, 2, 2:], [0.6, 0.8])


def test_prelu_per_channel_at_zero_matches_torch():
    """channels=true: one slope per channel; at x = 0 the input gradient is the slope (x > 0 is false)."""
    x = np.random.default_rng(0).standard_normal((2, 3, 2, 2))
    x[0, :, 0, 0] = 0.0
    w = np.array([0.1, 0.2, 0.3])
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    r = np.random.default_rng(1).standard_normal(x.shape)
    F.prelu(xt, wt).backward(torch.tensor(r))
    y, cache = run_op("prelu", x, {"weight": w}, {"alpha": 0.25, "channels": True})
    dx, grads = OPS["prelu"].backward(r, cache)
    np.testing.assert_allclose(y, F.prelu(torch.tensor(x), torch.tensor(w)).numpy(), rtol=TORCH_TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)
    np.testing.assert_allclose(grads["weight"], wt.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


def test_padded_maxpool_ties_and_padding_never_win():
    """Padding is -inf: a window of negative values keeps its real maximum; ties go to the first, like torch."""
    x = -np.abs(np.random.default_rng(0).standard_normal((1, 2, 5, 5))) - 1.0
    x[0, 1, :2, :2] = -1.0  # a tie in the first padded window
    xt = torch.tensor(x, requires_grad=True)
    yt = F.max_pool2d(xt, 3, 2, padding=1)
    r = np.random.default_rng(1).standard_normal(yt.shape)
    yt.backward(torch.tensor(r))
    y, cache = run_op("maxpool", x, {}, {"size": (3, 3), "stride": (2, 2), "pad": (1, 1, 1, 1)})
    dx, _ = OPS["maxpool"].backward(r, cache)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)
