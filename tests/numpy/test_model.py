"""The model runner and NumpyBackend: residual, batchnorm statistics, dropout,
step, the update order against PyTorch, state handling, non-finite diagnosis.

Models are written as spec text and compiled by the front end (tests/specbuild.py),
so these tests run exactly the graphs users' specs produce.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import torch

from specc.backends.numpy.backend import NumpyBackend
from specc.backends.numpy.model import Network
from specc.backends.numpy.ops import Context
from specc.init import initial_params

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from specbuild import call, program as _program  # noqa: E402

SGD = ("sgd", {"lr": 0.1, "momentum": 0.9})


# -- programs from spec text ------------------------------------------------------------------
def program(in_shape, items, loss="cross_entropy", optimizer=SGD, **train):
    lines = [f"    loss = {loss}", f"    optimizer = {call(optimizer)}"] + [f"    {k} = {v}" for k, v in train.items()]
    return _program(in_shape, items, name="net", train="\n".join(lines))


def params64(prog, seed=0):
    """Initial parameters in float64, with the constant-initialized ones (biases, batchnorm's
    weight and bias) made random, so a wrong bias or scale path cannot hide behind 0 or 1."""
    rng = np.random.default_rng(seed + 100)
    out = {k: v.astype(np.float64) for k, v in initial_params(prog, seed).items()}
    for key, layer, p in prog.all_params():
        if p.trainable and p.init in ("zeros", "ones"):
            out[key] = rng.normal(0.0, 1.0 if layer.op == "batchnorm" else 0.1, p.shape)
    return out


def mlp(**train):
    return program([4], [("dense", {"units": 6}), ("relu",), ("dense", {"units": 3}), ("softmax",)], **train)


def net_of(prog, params):
    return Network(prog.model, params, prog.train.losses)


# -- the runner -------------------------------------------------------------------------------
def test_whole_network_gradients_match_finite_differences():
    """Residual body, batchnorm (batch statistics) and a fused softmax loss, end to end.
    Tolerance as in tests/conformance/test_numpy.py (float64 central differences, h = 1e-6)."""
    prog = program([4], [("dense", {"units": 6}), ("residual", [("dense", {"units": 6}), ("tanh",)]),
                         ("batchnorm",), ("elu", {"alpha": 1.0}), ("dense", {"units": 3}), ("softmax",)])
    params = params64(prog)
    net = net_of(prog, params)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    ctx = lambda: Context(True, update_buffers=False)  # noqa: E731
    loss, grads, dx = net.loss_and_grads(x, y, ctx(), input_grad=True)
    assert set(grads) == {k for k, _, p in prog.all_params() if p.trainable}

    def numeric(arr):
        g = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + 1e-6
            fp = net.loss_and_grads(x, y, ctx())[0]
            arr[i] = old - 1e-6
            fm = net.loss_and_grads(x, y, ctx())[0]
            arr[i] = old
            g[i] = (fp - fm) / 2e-6
        return g

    for name, analytic, arr in [("x", dx, x)] + [(k, grads[k], params[k]) for k in grads]:
        num = numeric(arr)
        err = np.linalg.norm(analytic - num) / max(np.linalg.norm(num), 1e-12)
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_residual_adds_the_input():
    prog = program([3], [("residual", [("dense", {"units": 3}), ("relu",)]), ("softmax",)])
    params = params64(prog)
    net = net_of(prog, params)
    x = np.random.default_rng(0).standard_normal((4, 3))
    inner = np.maximum(x @ params["dense_1.weight"].T + params["dense_1.bias"], 0)
    z = x + inner
    expected = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(net.outputs(x), expected, rtol=1e-12)


def test_batchnorm_running_statistics_and_eval_mode():
    prog = program([3], [("dense", {"units": 4}), ("batchnorm", {"momentum": 0.1}), ("dense", {"units": 2})], loss="mse")
    params = params64(prog)
    net = net_of(prog, params)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3))
    h = x @ params["dense_1.weight"].T + params["dense_1.bias"]
    net.loss_and_grads(x, rng.standard_normal((8, 2)), Context(True))
    np.testing.assert_allclose(params["batchnorm_1.running_mean"], 0.1 * h.mean(0), rtol=1e-12)
    np.testing.assert_allclose(params["batchnorm_1.running_var"], 0.9 + 0.1 * h.var(0, ddof=1), rtol=1e-12)
    # eval mode normalizes with the running statistics, not the batch's
    xe = rng.standard_normal((2, 3))
    he = xe @ params["dense_1.weight"].T + params["dense_1.bias"]
    bn = ((he - params["batchnorm_1.running_mean"]) / np.sqrt(params["batchnorm_1.running_var"] + 1e-5)
          * params["batchnorm_1.weight"] + params["batchnorm_1.bias"])
    expected = bn @ params["dense_2.weight"].T + params["dense_2.bias"]
    np.testing.assert_allclose(net.outputs(xe), expected, rtol=1e-12)


def test_dropout_is_inverted_reproducible_and_identity_in_eval():
    prog = program([1000], [("dropout", {"p": 0.25})], loss="mse")
    net = net_of(prog, {})
    x = np.ones((50, 1000), np.float32)

    def out(ctx, tape=None):
        return net.forward(x, ctx, tape=tape)["dropout_1"]

    y = out(Context(True, seed=3, step=7))
    kept = y != 0
    # 50k Bernoulli(0.75) draws: the kept fraction has sd ~0.002; 0.01 is a 5-sigma band
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)  # survivors scaled by 1/(1-p)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, out(Context(True, seed=3, step=7)))  # same stream
    assert not np.array_equal(y, out(Context(True, seed=3, step=8)))  # new step, new mask
    np.testing.assert_array_equal(out(Context(False)), x)
    # the gradient goes through the same mask
    tape = []
    out(Context(True, seed=3, step=7), tape)
    dvalues, _ = net.backward({"dropout_1": np.ones_like(x)}, tape)
    np.testing.assert_array_equal(dvalues["x"], y)


def test_step_passes_zero_gradient():
    """step's derivative is zero wherever it exists: layers below it get zero gradients."""
    prog = program([3], [("dense", {"units": 4}), ("step", {"threshold": 0.0}), ("dense", {"units": 2})], loss="mse")
    params = params64(prog)
    net = net_of(prog, params)
    rng = np.random.default_rng(0)
    _, grads = net.loss_and_grads(rng.standard_normal((6, 3)), rng.standard_normal((6, 2)), Context(True))
    assert not grads["dense_1.weight"].any() and not grads["dense_1.bias"].any()
    assert grads["dense_2.weight"].any()


# -- the backend --------------------------------------------------------------------------------
def test_update_order_matches_torch():
    """l2 grad -> clip_norm -> decoupled weight decay -> SGD momentum, three steps, float64."""
    prog = mlp(l2=0.01, clip_norm=0.5, weight_decay=0.001, batch=4)
    init = params64(prog)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    be = NumpyBackend(prog, init, seed=0)
    be.put_data("train", x, y)
    be.set_order(np.array([3, 1, 7, 0, 2, 5, 6, 4]))

    tm = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3)).double()
    with torch.no_grad():
        for key, p in zip(["dense_1.weight", "dense_1.bias", "dense_2.weight", "dense_2.bias"], tm.parameters()):
            p.copy_(torch.tensor(init[key]))
    weights = [tm[0].weight, tm[2].weight]
    opt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    for step, (s, e) in enumerate([(0, 4), (4, 8), (0, 4)]):
        idx = be.order[s:e]
        lr = 0.1 / (step + 1)
        loss = be.train_step(s, e, lr, step)
        opt.zero_grad()
        tl = torch.nn.functional.cross_entropy(tm(torch.tensor(x[idx])), torch.tensor(y[idx]))
        tl.backward()
        with torch.no_grad():
            for w in weights:
                w.grad += 0.01 * w
            torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5)
            for w in weights:
                w.mul_(1 - 0.001)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        assert loss == pytest.approx(tl.item(), rel=1e-12)  # data loss only, no l2 term
    got = be.get_params()
    for key, p in zip(["dense_1.weight", "dense_1.bias", "dense_2.weight", "dense_2.bias"], tm.parameters()):
        # get_params is float32 by contract: compare at float32 resolution
        np.testing.assert_allclose(got[key], p.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(be.params["dense_2.weight"], tm[2].weight.detach().numpy(), rtol=1e-12)


def test_backend_state_roundtrip_and_evaluate():
    prog = mlp(batch=4)
    init = initial_params(prog, 0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((10, 4)).astype(np.float32), rng.integers(0, 3, 10)
    be = NumpyBackend(prog, init, seed=0)
    assert be.dtype == np.float32
    be.put_data("train", x, y)
    be.put_data("val", x, y)
    be.set_order(np.arange(10))
    handles = [be.train_step(0, 4, 0.1, 0), be.train_step(4, 8, 0.1, 1)]
    losses = be.losses_to_numpy(handles)
    assert losses.dtype == np.float64 and losses.shape == (2,)
    loss_a, out_a = be.evaluate("val", 3)
    loss_b, out_b = be.evaluate("val", 10)
    assert loss_a == pytest.approx(loss_b, rel=1e-6)  # batch-size independent mean (float32 sums)
    assert out_a.shape == (10, 3) and out_a.dtype == np.float32
    np.testing.assert_allclose(out_a.sum(1), 1, rtol=1e-6)  # softmax outputs
    np.testing.assert_allclose(be.predict(x, 4), out_b, rtol=1e-6)
    # state: snapshot, train on, restore -> identical continuation
    params, opt_state = be.get_params(), be.optimizer_state()
    assert all(v.dtype == np.float32 for v in params.values())
    assert "step" in opt_state
    l1 = be.train_step(0, 4, 0.1, 2)
    after = be.get_params()
    be.set_params(params)
    be.load_optimizer_state(opt_state)
    assert be.train_step(0, 4, 0.1, 2) == l1
    for k in after:
        np.testing.assert_array_equal(be.get_params()[k], after[k])
    with pytest.raises(ValueError):
        be.set_params({"dense_1.weight": np.zeros((2, 2), np.float32)})


def test_float64_params_give_float64_compute():
    prog = mlp()
    be = NumpyBackend(prog, params64(prog), seed=0)
    assert be.dtype == np.float64 and be.params["dense_1.weight"].dtype == np.float64
    assert be.get_params()["dense_1.weight"].dtype == np.float32


def test_nonfinite_layer_names_the_first_bad_layer():
    prog = program([4], [("dense", {"units": 6}), ("relu",), ("dense", {"units": 6}), ("tanh",), ("dense", {"units": 3}),
                         ("softmax",)])
    init = initial_params(prog, 0)
    init["dense_2.weight"] = np.full_like(init["dense_2.weight"], np.inf)
    be = NumpyBackend(prog, init, seed=0)
    rng = np.random.default_rng(0)
    be.put_data("train", rng.standard_normal((4, 4)).astype(np.float32) + 3, rng.integers(0, 3, 4))
    be.set_order(np.arange(4))
    assert be.nonfinite_layer() is None  # nothing trained yet
    with np.errstate(all="ignore"):
        loss = be.train_step(0, 4, 0.1, 0)
    assert not np.isfinite(loss)
    assert be.nonfinite_layer() == "dense_2"


def test_options_for_regression_losses():
    """mse on a sigmoid model is not fused: the gradient flows through the sigmoid."""
    prog = program([2], [("dense", {"units": 1}), ("sigmoid", {"steepness": 1.0})], loss="mse")
    params = params64(prog)
    net = net_of(prog, params)
    assert [fused for _value, fused, _steep in net.loss_inputs] == [False]
    x, y = np.array([[0.5, -1.0]]), np.array([[1.0]])
    loss, grads = net.loss_and_grads(x, y, Context(True))
    o = 1 / (1 + np.exp(-(x @ params["dense_1.weight"].T + params["dense_1.bias"])))
    assert loss == pytest.approx(float(((o - 1) ** 2).mean()), rel=1e-12)
    np.testing.assert_allclose(grads["dense_1.bias"], (2 * (o - 1) * o * (1 - o)).sum(0), rtol=1e-12)


def test_small_cnn_matches_torch_autograd():
    """Ops chained as in a real CNN (conv2d hands NHWC-memory views to the next op):
    outputs and every gradient equal torch's in float64 (tolerance: summation order only)."""
    F = torch.nn.functional
    prog = program([2, 9, 9], [("conv2d", {"filters": 4, "kernel": 3, "init": "he_normal"}), ("relu",),
                               ("maxpool", {"size": 2, "stride": 1}),
                               ("conv2d", {"filters": 3, "kernel": 3, "stride": 2, "pad": "same", "init": "he_normal"}),
                               ("batchnorm",), ("avgpool", {"size": 2, "stride": 1}), ("flatten",),
                               ("dense", {"units": 5}), ("softmax",)])
    assert prog.model.layers[3].attrs["pad"] == (0, 0, 1, 1)  # `same`, stride 2: the extra row/column at the end
    params = params64(prog)
    net = net_of(prog, params)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 2, 9, 9)), rng.integers(0, 5, 4)
    loss, grads, dx = net.loss_and_grads(x, y, Context(True, update_buffers=False), input_grad=True)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt = torch.tensor(x, requires_grad=True)
    h = F.max_pool2d(F.relu(F.conv2d(xt, t["conv2d_1.weight"], t["conv2d_1.bias"])), 2, 1)
    h = F.conv2d(F.pad(h, (0, 1, 0, 1)), t["conv2d_2.weight"], t["conv2d_2.bias"], stride=2)
    h = F.batch_norm(h, None, None, t["batchnorm_1.weight"], t["batchnorm_1.bias"], training=True)
    h = F.avg_pool2d(h, 2, 1).flatten(1)
    tl = F.cross_entropy(F.linear(h, t["dense_1.weight"], t["dense_1.bias"]), torch.tensor(y))
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for k, g in grads.items():
        np.testing.assert_allclose(g, t[k].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)
