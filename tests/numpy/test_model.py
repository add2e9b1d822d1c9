"""The model runner and NumpyBackend: residual, batchnorm statistics, dropout,
step, the update order against PyTorch, state handling, non-finite diagnosis.

IR is built by hand here (small helpers below) so these tests do not depend on
the front end.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from specc.backends.numpy.backend import NumpyBackend
from specc.backends.numpy.model import Network
from specc.backends.numpy.ops import Context
from specc.init import initial_params
from specc.ir import Layer, Model, Param, Program, Spec, TrainSpec

SGD = Spec("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": False})


# -- hand-built IR ------------------------------------------------------------------------------
def dense(name, n_in, n_out, init="glorot_normal"):
    return Layer(name, "dense", {"units": n_out, "bias": True, "init": init}, (n_in,), (n_out,), params=(
        Param("weight", (n_out, n_in), init, fan_in=n_in, fan_out=n_out, decay=True),
        Param("bias", (n_out,), "normal", {"std": 0.1})))


def act(name, op, shape, **attrs):
    return Layer(name, op, attrs, shape, shape)


def batchnorm(name, c, shape):
    return Layer(name, "batchnorm", {"momentum": 0.1, "eps": 1e-5}, shape, shape, params=(
        Param("weight", (c,), "normal", {"std": 1.0}), Param("bias", (c,), "normal", {"std": 1.0}),
        Param("running_mean", (c,), "zeros", trainable=False),
        Param("running_var", (c,), "ones", trainable=False)))


def residual(name, body):
    return Layer(name, "residual", {}, body[0].in_shape, body[-1].out_shape, body=tuple(body))


def program(layers, loss="cross_entropy", optimizer=SGD, **train):
    model = Model("net", "x", layers[0].in_shape, tuple(layers))
    return Program(model, None, TrainSpec(loss=Spec(loss, {}), optimizer=optimizer, **train))


def params64(prog, seed=0):
    return {k: v.astype(np.float64) for k, v in initial_params(prog, seed).items()}


def mlp(**train):
    return program([dense("dense_1", 4, 6), act("relu_1", "relu", (6,)), dense("dense_2", 6, 3),
                    act("softmax_1", "softmax", (3,))], **train)


# -- the runner -------------------------------------------------------------------------------
def test_whole_network_gradients_match_finite_differences():
    """Residual body, batchnorm (batch statistics) and a fused softmax loss, end to end.
    Tolerance as in test_ops.py (float64 central differences, h = 1e-6)."""
    layers = [dense("dense_1", 4, 6), residual("residual_1", [dense("dense_2", 6, 6), act("tanh_1", "tanh", (6,))]),
              batchnorm("batchnorm_1", 6, (6,)), act("elu_1", "elu", (6,), alpha=1.0),
              dense("dense_3", 6, 3), act("softmax_1", "softmax", (3,))]
    prog = program(layers)
    params = params64(prog)
    net = Network(prog.model, params, prog.train.loss)
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
    prog = program([residual("residual_1", [dense("dense_1", 3, 3), act("relu_1", "relu", (3,))]),
                    act("softmax_1", "softmax", (3,))])
    params = params64(prog)
    net = Network(prog.model, params, prog.train.loss)
    x = np.random.default_rng(0).standard_normal((4, 3))
    inner = np.maximum(x @ params["dense_1.weight"].T + params["dense_1.bias"], 0)
    z = x + inner
    expected = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(net.outputs(x), expected, rtol=1e-12)


def test_batchnorm_running_statistics_and_eval_mode():
    prog = program([dense("dense_1", 3, 4), batchnorm("batchnorm_1", 4, (4,)), dense("dense_2", 4, 2)], loss="mse")
    params = params64(prog)
    net = Network(prog.model, params, prog.train.loss)
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
    prog = program([act("dropout_1", "dropout", (1000,), p=0.25)], loss="mse")
    net = Network(prog.model, {}, prog.train.loss)
    x = np.ones((50, 1000), np.float32)
    y = net.forward(x, Context(True, seed=3, step=7))
    kept = y != 0
    # 50k Bernoulli(0.75) draws: the kept fraction has sd ~0.002; 0.01 is a 5-sigma band
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)  # survivors scaled by 1/(1-p)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, net.forward(x, Context(True, seed=3, step=7)))  # same stream
    assert not np.array_equal(y, net.forward(x, Context(True, seed=3, step=8)))  # new step, new mask
    np.testing.assert_array_equal(net.forward(x, Context(False)), x)
    # the gradient goes through the same mask
    tape = []
    net.forward(x, Context(True, seed=3, step=7), tape=tape)
    dx, _ = net.backward(np.ones_like(x), tape)
    np.testing.assert_array_equal(dx, y)


def test_step_passes_zero_gradient():
    """step's derivative is zero wherever it exists: layers below it get zero gradients."""
    prog = program([dense("dense_1", 3, 4), act("step_1", "step", (4,), threshold=0.0), dense("dense_2", 4, 2)],
                   loss="mse")
    params = params64(prog)
    net = Network(prog.model, params, prog.train.loss)
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
    prog = program([dense("dense_1", 4, 6), act("relu_1", "relu", (6,)), dense("dense_2", 6, 6),
                    act("tanh_1", "tanh", (6,)), dense("dense_3", 6, 3), act("softmax_1", "softmax", (3,))])
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
    prog = program([dense("dense_1", 2, 1), act("sigmoid_1", "sigmoid", (1,), steepness=1.0)], loss="mse")
    params = params64(prog)
    net = Network(prog.model, params, prog.train.loss)
    assert not net.fused
    x, y = np.array([[0.5, -1.0]]), np.array([[1.0]])
    loss, grads = net.loss_and_grads(x, y, Context(True))
    o = 1 / (1 + np.exp(-(x @ params["dense_1.weight"].T + params["dense_1.bias"])))
    assert loss == pytest.approx(float(((o - 1) ** 2).mean()), rel=1e-12)
    np.testing.assert_allclose(grads["dense_1.bias"], (2 * (o - 1) * o * (1 - o)).sum(0), rtol=1e-12)


def test_small_cnn_matches_torch_autograd():
    """Ops chained as in a real CNN (conv2d hands NHWC-memory views to the next op):
    outputs and every gradient equal torch's in float64 (tolerance: summation order only)."""
    F = torch.nn.functional
    conv_attrs = lambda f, k, s, p: {"filters": f, "kernel": (k, k), "stride": (s, s), "pad": p,  # noqa: E731
                                     "bias": True, "init": "he_normal"}
    layers = [
        Layer("conv2d_1", "conv2d", conv_attrs(4, 3, 1, (0, 0, 0, 0)), (2, 9, 9), (4, 7, 7), params=(
            Param("weight", (4, 2, 3, 3), "he_normal", fan_in=18, fan_out=36, decay=True),
            Param("bias", (4,), "normal", {"std": 0.1}))),
        act("relu_1", "relu", (4, 7, 7)),
        Layer("maxpool_1", "maxpool", {"size": (2, 2), "stride": (1, 1)}, (4, 7, 7), (4, 6, 6)),
        Layer("conv2d_2", "conv2d", conv_attrs(3, 3, 2, (1, 1, 0, 0)), (4, 6, 6), (3, 3, 3), params=(
            Param("weight", (3, 4, 3, 3), "he_normal", fan_in=36, fan_out=27, decay=True),
            Param("bias", (3,), "normal", {"std": 0.1}))),
        batchnorm("batchnorm_1", 3, (3, 3, 3)),
        Layer("avgpool_1", "avgpool", {"size": (2, 2), "stride": (1, 1)}, (3, 3, 3), (3, 2, 2)),
        Layer("flatten_1", "flatten", {}, (3, 2, 2), (12,)),
        dense("dense_1", 12, 5), act("softmax_1", "softmax", (5,))]
    prog = program(layers)
    params = params64(prog)
    net = Network(prog.model, params, prog.train.loss)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 2, 9, 9)), rng.integers(0, 5, 4)
    loss, grads, dx = net.loss_and_grads(x, y, Context(True, update_buffers=False), input_grad=True)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt = torch.tensor(x, requires_grad=True)
    h = F.max_pool2d(F.relu(F.conv2d(xt, t["conv2d_1.weight"], t["conv2d_1.bias"])), 2, 1)
    h = F.conv2d(F.pad(h, (1, 0, 1, 0)), t["conv2d_2.weight"], t["conv2d_2.bias"], stride=2)
    h = F.batch_norm(h, None, None, t["batchnorm_1.weight"], t["batchnorm_1.bias"], training=True)
    h = F.avg_pool2d(h, 2, 1).flatten(1)
    tl = F.cross_entropy(F.linear(h, t["dense_1.weight"], t["dense_1.bias"]), torch.tensor(y))
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for k, g in grads.items():
        np.testing.assert_allclose(g, t[k].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)
