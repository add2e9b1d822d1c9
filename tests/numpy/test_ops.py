"""Every NumPy op against central finite differences and against PyTorch.

One line per case (tinygrad's helper_test_op style): op, input shape, input
generator, attributes, parameter shapes. The same table drives the
finite-difference check and the torch comparison; an op of the registry
without a case fails `test_every_op_has_a_case`.

Tolerances: everything runs in float64. Central differences with h = 1e-6
have truncation error ~h^2 * f''' ~ 1e-12 and round-off ~ eps * |L| / h ~ 1e-10
(L = sum(y * R) is O(10) here), so a correct backward agrees to ~1e-9 in the
norm-relative error; 1e-6 leaves a 1000x margin while any real bug (a wrong
factor, index or sign) gives an error of order 1. Inputs of kinked ops (relu,
max, clip, step, ...) are kept >= 0.05 away from the kinks, far beyond h.
Against torch (same float64 maths, different evaluation order) the agreement
is ~1e-15; 1e-10 absolute+relative allows for summation-order differences.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from specc.backends.numpy.ops import OPS, Context
from specc.ops import OPS as SPEC_OPS

H = 1e-6
FD_TOL = 1e-6
TORCH_TOL = 1e-10
BUFFERS = ("running_mean", "running_var")


# -- input generators (all float64) ------------------------------------------------------------
def normal(rng, shape):
    return rng.standard_normal(shape)


def away(*kinks):
    """Normal inputs kept >= 0.05 away from every kink."""
    def gen(rng, shape):
        x = rng.uniform(-2.5, 2.5, shape)
        for k in kinks:
            near = np.abs(x - k) < 0.05
            x = np.where(near, k + np.sign(x - k + 1e-12) * 0.05 + (x - k), x)
        return x
    return gen


def distinct(rng, shape):
    """A shuffled grid: every pair of values differs by >= 4/size (max/argmax well defined)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * (4.0 / n) - 2.0).reshape(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


# -- the table: (op, input shape, generator, attrs, {param: shape or fixed value}, training) --
def case(op, shape, gen=normal, training=True, **kw):
    attrs = {k: v for k, v in kw.items() if not k.startswith("p_")}
    params = {k[2:]: v for k, v in kw.items() if k.startswith("p_")}
    return pytest.param(op, shape, gen, attrs, params, training, id=f"{op}-{shape}-{attrs}-{training}")


CASES = [
    case("dense", (4, 5), units=3, p_weight=(3, 5), p_bias=(3,)),
    case("dense", (3, 6), units=2, bias=False, p_weight=(2, 6)),
    case("conv2d", (2, 2, 5, 5), filters=3, kernel=(3, 3), stride=(1, 1), pad=(0, 0, 0, 0),
         p_weight=(3, 2, 3, 3), p_bias=(3,)),
    case("conv2d", (2, 2, 6, 5), filters=3, kernel=(3, 2), stride=(2, 1), pad=(1, 0, 2, 1),
         p_weight=(3, 2, 3, 2), p_bias=(3,)),
    case("conv2d", (1, 3, 7, 7), filters=2, kernel=(3, 3), stride=(2, 2), pad=(1, 1, 1, 1), bias=False,
         p_weight=(2, 3, 3, 3)),
    case("maxpool", (2, 3, 4, 4), distinct, size=(2, 2), stride=(2, 2)),
    case("maxpool", (2, 2, 5, 7), distinct, size=(3, 2), stride=(1, 2)),  # overlapping, floor
    case("avgpool", (2, 3, 4, 4), size=(2, 2), stride=(2, 2)),
    case("avgpool", (2, 2, 5, 6), size=(3, 3), stride=(2, 1)),
    case("l2pool", (2, 3, 4, 4), size=(2, 2), stride=(2, 2)),
    case("l2pool", (2, 2, 5, 5), size=(2, 3), stride=(1, 2)),
    case("flatten", (2, 3, 2, 2)),
    case("dropout", (4, 6), p=0.3),
    case("dropout", (4, 6), p=0.3, training=False),
    case("batchnorm", (6, 4), momentum=0.1, eps=1e-5, p_weight=(4,), p_bias=(4,),
         p_running_mean=(4,), p_running_var=("pos", (4,))),
    case("batchnorm", (3, 2, 3, 3), momentum=0.2, eps=1e-3, p_weight=(2,), p_bias=(2,),
         p_running_mean=(2,), p_running_var=("pos", (2,))),
    case("batchnorm", (5, 3), training=False, momentum=0.1, eps=1e-5, p_weight=(3,), p_bias=(3,),
         p_running_mean=(3,), p_running_var=("pos", (3,))),
    case("maxout", (4, 5), units=3, pieces=2, p_weight=(6, 5), p_bias=(6,)),
    case("maxout", (3, 4), units=2, pieces=3, p_weight=(6, 4), p_bias=(6,)),
    case("identity", (3, 4)),
    case("step", (3, 4), away(0.5), threshold=0.5),
    case("sigmoid", (3, 4), steepness=1.0),
    case("sigmoid", (3, 4), steepness=2.5),
    case("tanh", (3, 4)),
    case("scaled_tanh", (3, 4)),
    case("hard_sigmoid", (3, 4), away(0.0, 1.0)),
    case("relu", (3, 4), away(0.0)),
    case("relu", (2, 2, 3, 3), away(0.0)),
    case("leaky_relu", (3, 4), away(0.0), alpha=0.1),
    case("prelu", (3, 4), away(0.0), alpha=0.25, p_weight=(1,)),
    case("prelu", (2, 2, 2, 2), away(0.0), alpha=0.25, p_weight=(1,)),
    case("elu", (3, 4), away(0.0), alpha=1.0),
    case("elu", (3, 4), away(0.0), alpha=0.7),
    case("selu", (3, 4), away(0.0)),
    case("softplus", (3, 4)),
    case("softmax", (3, 5)),
    case("log_softmax", (3, 5)),
]


def make_inputs(shape, gen, params_spec, seed=0):
    rng = np.random.default_rng(seed)
    x = gen(rng, shape)
    params = {}
    for name, spec in params_spec.items():
        if spec[0] == "pos":
            params[name] = positive(rng, spec[1])
        else:
            params[name] = rng.standard_normal(spec) * 0.7
    return x, params


def run_op(op, x, params, attrs, training):
    """Forward with a fresh, fixed dropout stream, so repeated calls see the same mask."""
    ctx = Context(training, rng=np.random.default_rng(123))
    return OPS[op].forward(x, params, attrs, ctx)


def rel_err(a, n):
    return np.linalg.norm(a - n) / max(np.linalg.norm(a), np.linalg.norm(n), 1e-12)


def numeric_grad(f, arr):
    """Central differences of the scalar f() w.r.t. every element of `arr` (perturbed in place)."""
    g = np.zeros_like(arr)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = arr[i]
        arr[i] = old + H
        fp = f()
        arr[i] = old - H
        fm = f()
        arr[i] = old
        g[i] = (fp - fm) / (2 * H)
    return g


def helper_check_grads(op, x, params, attrs, training):
    """Analytic backward of `op` vs central differences of L = sum(forward(x) * R)."""
    y, cache = run_op(op, x, params, attrs, training)
    r = np.random.default_rng(1).standard_normal(y.shape)
    dx, grads = OPS[op].backward(r, cache)
    loss = lambda: float((run_op(op, x, params, attrs, training)[0] * r).sum())  # noqa: E731
    assert dx.shape == x.shape
    err = rel_err(dx, numeric_grad(loss, x))
    assert err < FD_TOL, f"{op}: d input relative error {err:.2e}"
    trainable = [k for k in params if k not in BUFFERS]
    assert sorted(grads) == sorted(trainable), f"{op}: grads for {sorted(grads)}, params {trainable}"
    for k in trainable:
        assert grads[k].shape == params[k].shape
        err = rel_err(grads[k], numeric_grad(loss, params[k]))
        assert err < FD_TOL, f"{op}: d {k} relative error {err:.2e}"


@pytest.mark.parametrize("op,shape,gen,attrs,params_spec,training", CASES)
def test_gradient_matches_finite_differences(op, shape, gen, attrs, params_spec, training):
    x, params = make_inputs(shape, gen, params_spec)
    helper_check_grads(op, x, params, attrs, training)


def test_every_op_has_a_case():
    covered = {p.values[0] for p in CASES}
    assert set(OPS) - covered == set()


def test_every_spec_op_has_a_numpy_op():
    """The registry covers the language: a new op in specc.ops needs a row here."""
    assert set(SPEC_OPS) - {"residual"} == set(OPS)
    for name, op in OPS.items():
        assert op.name == name


# -- PyTorch, float64: forward values and gradients ----------------------------------------------
def _pad(x, a):
    top, left, bottom, right = a["pad"]
    return F.pad(x, (left, right, top, bottom))


TORCH = {
    "dense": lambda x, p, a: F.linear(x, p["weight"], p.get("bias")),
    "conv2d": lambda x, p, a: F.conv2d(_pad(x, a), p["weight"], p.get("bias"), stride=a["stride"]),
    "maxpool": lambda x, p, a: F.max_pool2d(x, a["size"], a["stride"]),
    "avgpool": lambda x, p, a: F.avg_pool2d(x, a["size"], a["stride"]),
    "l2pool": lambda x, p, a: F.lp_pool2d(x, 2, a["size"], a["stride"]),
    "flatten": lambda x, p, a: torch.flatten(x, 1),
    "batchnorm": None,  # needs the mode: handled in _torch_forward
    "maxout": lambda x, p, a: F.linear(x, p["weight"], p["bias"]).view(
        x.shape[0], a["units"], a["pieces"]).max(-1).values,
    "identity": lambda x, p, a: x,
    "step": lambda x, p, a: (x > a["threshold"]).to(x.dtype) + 0 * x,
    "sigmoid": lambda x, p, a: torch.sigmoid(a["steepness"] * x),
    "tanh": lambda x, p, a: torch.tanh(x),
    "scaled_tanh": lambda x, p, a: 1.7159 * torch.tanh(2.0 / 3.0 * x),
    "hard_sigmoid": lambda x, p, a: F.hardtanh(x, 0.0, 1.0),
    "relu": lambda x, p, a: F.relu(x),
    "leaky_relu": lambda x, p, a: F.leaky_relu(x, a["alpha"]),
    "prelu": lambda x, p, a: F.prelu(x, p["weight"]),
    "elu": lambda x, p, a: F.elu(x, a["alpha"]),
    "selu": lambda x, p, a: F.selu(x),
    "softplus": lambda x, p, a: F.softplus(x),
    "softmax": lambda x, p, a: F.softmax(x, 1),
    "log_softmax": lambda x, p, a: F.log_softmax(x, 1),
}
# dropout is left out of the torch comparison on purpose: the masks come from different
# generators (ARCHITECTURE.md); its semantics are tested in test_model.py.
NOT_IN_TORCH = {"dropout"}


def test_torch_table_is_complete():
    assert set(OPS) - NOT_IN_TORCH == set(TORCH)


def _torch_forward(op, xt, pt, attrs, training):
    if op == "batchnorm":
        return F.batch_norm(xt, pt["running_mean"], pt["running_var"], pt["weight"], pt["bias"],
                            training=training, momentum=attrs["momentum"], eps=attrs["eps"])
    return TORCH[op](xt, pt, attrs)


@pytest.mark.parametrize("op,shape,gen,attrs,params_spec,training",
                         [c for c in CASES if c.values[0] not in NOT_IN_TORCH])
def test_matches_torch(op, shape, gen, attrs, params_spec, training):
    x, params = make_inputs(shape, gen, params_spec)
    xt = torch.tensor(x, requires_grad=True)
    pt = {k: torch.tensor(v, requires_grad=k not in BUFFERS) for k, v in params.items()}
    yt = _torch_forward(op, xt, pt, attrs, training)
    y, cache = run_op(op, x, params, attrs, training)  # updates numpy running stats, like torch
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)
    r = np.random.default_rng(1).standard_normal(y.shape)
    yt.backward(torch.tensor(r))
    dx, grads = OPS[op].backward(r, cache)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)
    for k, v in pt.items():
        if k in BUFFERS:  # running statistics: updated identically (unbiased var, momentum)
            np.testing.assert_allclose(params[k], v.detach().numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)
        else:
            np.testing.assert_allclose(grads[k], v.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


# -- at the kinks: the subgradient PyTorch picks ----------------------------------------------
KINKS = [
    ("relu", {}, [-1.0, 0.0, 2.0]),
    ("leaky_relu", {"alpha": 0.1}, [-1.0, 0.0, 2.0]),
    ("hard_sigmoid", {}, [-1.0, 0.0, 0.5, 1.0, 2.0]),
    ("elu", {"alpha": 1.0}, [-1.0, 0.0, 2.0]),
    ("selu", {}, [-1.0, 0.0, 2.0]),
]


@pytest.mark.parametrize("op,attrs,values", KINKS, ids=[k[0] for k in KINKS])
def test_kink_gradients_match_torch(op, attrs, values):
    x = np.array([values])
    xt = torch.tensor(x, requires_grad=True)
    TORCH[op](xt, {}, attrs).sum().backward()
    dx, _ = OPS[op].backward(np.ones_like(x), run_op(op, x, {}, attrs, True)[1])
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


@pytest.mark.parametrize("size,stride", [((2, 2), (2, 2)), ((3, 3), (1, 1))])
def test_maxpool_ties_route_to_the_first_maximum_like_torch(size, stride):
    """After a relu whole windows are 0: the gradient goes to one element, not all of them."""
    x = np.maximum(np.random.default_rng(0).standard_normal((2, 2, 6, 6)), 0)
    x[0, 0, :3, :3] = 0.0
    x[1, 1, 2:4, 2:4] = 1.5
    xt = torch.tensor(x, requires_grad=True)
    r = np.random.default_rng(1).standard_normal(TORCH["maxpool"](xt, {}, {"size": size, "stride": stride}).shape)
    F.max_pool2d(xt, size, stride).backward(torch.tensor(r))
    y, cache = run_op("maxpool", x, {}, {"size": size, "stride": stride}, True)
    dx, _ = OPS["maxpool"].backward(r, cache)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL)


def test_l2pool_gradient_is_finite_on_an_all_zero_field():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = [[3.0, 4.0], [0.0, 0.0]]
    y, cache = run_op("l2pool", x, {}, {"size": (2, 2), "stride": (2, 2)}, True)
    assert y[0, 0, 1, 1] == 5.0 and y[0, 0, 0, 0] == 0.0
    dx, _ = OPS["l2pool"].backward(np.ones_like(y), cache)
    assert np.isfinite(dx).all() and dx[0, 0, :2, :2].sum() == 0
    np.testing.assert_allclose(dx[0, 0, 2, 2:], [0.6, 0.8])


def test_float32_stays_float32():
    """No op silently promotes float32 activations or gradients to float64."""
    for p in CASES:
        op, shape, gen, attrs, params_spec, training = p.values
        x, params = make_inputs(shape, gen, params_spec)
        x = x.astype(np.float32)
        params = {k: v.astype(np.float32) for k, v in params.items()}
        y, cache = run_op(op, x, params, attrs, training)
        dx, grads = OPS[op].backward(np.ones_like(y), cache)
        assert y.dtype == dx.dtype == np.float32, op
        assert all(g.dtype == np.float32 for g in grads.values()), op


@pytest.mark.parametrize("op,shape,gen,attrs,params_spec,training", CASES)
def test_backward_leaves_its_inputs_alone(op, shape, gen, attrs, params_spec, training):
    """A residual reuses x and dy after the body ran: no op may write into them."""
    x, params = make_inputs(shape, gen, params_spec)
    x0 = x.copy()
    y, cache = run_op(op, x, params, attrs, training)
    dy = np.random.default_rng(1).standard_normal(y.shape)
    dy0 = dy.copy()
    OPS[op].backward(dy, cache)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dy, dy0)
