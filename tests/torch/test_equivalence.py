"""Cross-backend equivalence: the torch lowering against the NumPy reference.

Losses, optimizers, schedules and whole training runs; each op alone (forward
and gradients, float64 and float32) is the conformance suite's job
(tests/conformance/test_torch.py).

Most comparisons run both backends in float64, where both compute the same
formulas and differ only by summation order (~1e-16 relative per op), so a
tolerance of 1e-9 is still five orders of magnitude above the noise while any
semantic difference (a wrong pad side, a biased/unbiased variance, a missing
1/N) is >= 1e-3. A float32 pass uses float32-rounding tolerances, stated
where used. Dropout is excluded in training mode (different generators).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
numpy_backend = pytest.importorskip("specc.backends.numpy.backend")

import torch_irbuild as irbuild  # noqa: E402
from torch_cases import LOSS_CASES  # noqa: E402
from specc.backends.numpy.ops import Context  # noqa: E402
from specc.backends.torch.backend import TorchBackend  # noqa: E402
from specc.init import initial_params  # noqa: E402
from specc.schedules import lr_table, steps_per_epoch  # noqa: E402

NumpyBackend = numpy_backend.NumpyBackend
F64 = dict(rtol=1e-9, atol=1e-10)


def _params(prog, dtype=np.float64):
    return {k: v.astype(dtype) for k, v in initial_params(prog).items()}


def _targets(prog, n, kind, rng):
    out = prog.model.output_shape
    if kind == "index":
        return rng.integers(0, out[0], n)
    if kind == "binary_index":
        return rng.integers(0, 2, n)
    if kind == "prob":
        p = rng.random((n, *out))
        return p / p.sum(1, keepdims=True)
    if kind == "multi":
        return (rng.random((n, *out)) > 0.5).astype(np.float64)
    return rng.standard_normal((n, *out))


def numpy_loss_grads(prog, params, x, y, training=True):
    be = NumpyBackend(prog, params, seed=0)
    loss, grads, dx = be.net.loss_and_grads(x, y, Context(training, seed=0, step=0), input_grad=True)
    return loss, {**grads, "<input>": dx}, be


def torch_loss_grads(prog, params, x, y, training=True):
    be = TorchBackend(prog, params, seed=0, device="cpu", dtype=x.dtype)
    be.model.train(training)
    xt = torch.from_numpy(x).requires_grad_(True)
    h, out = be.model.forward_parts(xt)
    yt = torch.from_numpy(np.asarray(y))
    loss = be._loss(h, out, yt)
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in be.model.named_parameters() if p.grad is not None}
    grads["<input>"] = xt.grad.numpy()
    return loss.item(), grads, be


def _compare(prog, x, y, training=True, tol=F64):
    params = _params(prog, x.dtype)
    l_np, g_np, be_np = numpy_loss_grads(prog, params, x, y, training)
    l_t, g_t, be = torch_loss_grads(prog, params, x, y, training)
    np.testing.assert_allclose(l_t, l_np, **tol)
    assert set(g_t) == set(g_np)
    for k in g_np:
        np.testing.assert_allclose(g_t[k], g_np[k], err_msg=k, **tol)
    # model outputs in eval mode (probabilities etc., not logits), after the one training
    # forward: batchnorm running statistics were updated by both
    with torch.no_grad():
        out_t = be.model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out_t, be_np.net.outputs(x), **tol)


@pytest.mark.parametrize("case", LOSS_CASES, ids=[f"{c[0] if isinstance(c[0], str) else c[0][0]}-{c[2]}" for c in LOSS_CASES])
def test_loss_values_and_gradients_float64(case):
    loss, last, kind = case
    units = 1 if kind == "binary_index" else 3
    specs = [("dense", {"units": 4}), ("tanh",), ("dense", {"units": units})] + ([(last, {})] if last else [])
    if last == "sigmoid":
        specs[-1] = ("sigmoid", {"steepness": 1.5})  # the fused logits are steepness * h
    prog = irbuild.program([5], specs, loss=loss)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 5)) * 3  # large enough to saturate sigmoid/softmax somewhat
    _compare(prog, x, _targets(prog, 7, kind, rng))


# -- 50 training steps ---------------------------------------------------------------------
MLP = [("dense", {"units": 8}), ("tanh",), ("dense", {"units": 3}), ("softmax",)]
OPTIMIZER_CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr": 0.1}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.5}),
    ("adadelta", {"lr": 1.0}),
    ("adam", {"lr": 0.01}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
]
SCHEDULE_CASES = [
    ("constant", {}),
    ("step", {"every": 10, "gamma": 0.5}),
    ("step", {"every": 2, "gamma": 0.5, "per": "epoch"}),
    ("piecewise", {"boundaries": [10, 30], "values": [0.1, 0.05, 0.01]}),
    ("exponential", {"s": 20}),
    ("power", {"s": 10, "p": 0.75}),
    ("onecycle", {"max_lr": 0.3, "final_lr": 0.001}),
    ("cosine", {"min_lr": 0.01}),
]
N, BATCH, STEPS = 36, 8, 50  # 5 steps per epoch, the last batch partial (4 samples)


def _train(backend_cls, prog, params, x, y, **options):
    be = backend_cls(prog, params, seed=0, **options)
    be.put_data("train", x, y)
    spe = steps_per_epoch(N, BATCH)
    lrs = lr_table(prog.train, spe)
    handles, step = [], 0
    steps = len(lrs)
    while step < steps:
        be.set_order(np.random.default_rng([7, step // spe]).permutation(N))
        for start in range(0, N, BATCH):
            if step == steps:
                break
            handles.append(be.train_step(start, min(start + BATCH, N), lrs[step], step))
            step += 1
    return be, be.losses_to_numpy(handles)


def _run_both(prog, dtype=np.float64, rtol=1e-9, atol=1e-10):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((N, *prog.model.input_shape)).astype(dtype)
    y = rng.integers(0, prog.model.output_shape[0], N)
    params = _params(prog, dtype)
    be_np, l_np = _train(NumpyBackend, prog, params, x, y)
    be_t, l_t = _train(TorchBackend, prog, params, x, y, device="cpu", dtype=dtype)
    assert len(l_np) == STEPS and l_t[-1] < l_t[0] * 1.5  # a real run, not NaNs
    np.testing.assert_allclose(l_t, l_np, rtol=rtol, atol=atol)
    p_t = {k: v.detach().numpy() for k, v in be_t.model.state_dict().items()}
    for k, v in be_np.params.items():
        np.testing.assert_allclose(p_t[k], v, rtol=rtol, atol=atol, err_msg=k)
    return be_np, be_t


@pytest.mark.parametrize("opt", OPTIMIZER_CASES, ids=[f"{o[0]}-{'-'.join(map(str, o[1].values()))}" for o in OPTIMIZER_CASES])
def test_fifty_steps_same_curve_and_weights_per_optimizer(opt):
    # Adam-type updates divide by sqrt(v): float64 noise of 1e-16 in a gradient of
    # size 1e-3 stays ~1e-13 relative per step; 50 steps compound to well under 1e-9.
    _run_both(irbuild.program([4], MLP, loss="cross_entropy", optimizer=opt, batch=BATCH, steps=STEPS))


@pytest.mark.parametrize("rule", ["perceptron", "adaline"])
@pytest.mark.parametrize("last", ["step", "sigmoid", "identity"])
def test_fifty_steps_classic_rules(rule, last):
    """The single-layer rules train on their error signal (not the loss gradient), as in NumPy."""
    loss = "bce" if last == "sigmoid" else "mse"
    prog = irbuild.program([4], [("dense", {"units": 1}), (last, {})], loss=loss,
                           optimizer=(rule, {"lr": 0.1}), batch=BATCH, steps=STEPS)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((N, 4))
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(np.int64)
    params = _params(prog)
    be_np, l_np = _train(NumpyBackend, prog, params, x, y)
    be_t, l_t = _train(TorchBackend, prog, params, x, y, device="cpu")
    np.testing.assert_allclose(l_t, l_np, **F64)
    for k, v in be_np.params.items():
        np.testing.assert_allclose(be_t.model.state_dict()[k].numpy(), v, err_msg=k, **F64)
    assert not np.allclose(be_t.model.state_dict()["dense_1.weight"].numpy(), params["dense_1.weight"])


@pytest.mark.parametrize("sched", SCHEDULE_CASES, ids=[f"{s[0]}-{s[1].get('per', 'step')}" for s in SCHEDULE_CASES])
def test_fifty_steps_same_curve_and_weights_per_schedule(sched):
    _run_both(irbuild.program([4], MLP, loss="cross_entropy", optimizer=("sgd", {"lr": 0.1, "momentum": 0.5}),
                              schedule=sched, batch=BATCH, steps=STEPS))


def test_fifty_steps_with_l2_clip_weight_decay_and_batchnorm():
    # No bias before batchnorm: its true gradient is exactly 0, so both backends feed Adam
    # pure rounding noise (~1e-17) that Adam normalizes to steps of size ~lr: not comparable.
    specs = [("dense", {"units": 8, "bias": False}), ("batchnorm",), ("relu",), ("residual", {"body": [("dense", {"units": 8}), ("elu",)]}),
             ("dense", {"units": 3}), ("softmax",)]
    prog = irbuild.program([4], specs, loss="cross_entropy", optimizer=("adam", {"lr": 0.01}), batch=BATCH,
                           steps=STEPS, l2=1e-3, clip_norm=0.5, weight_decay=1e-3)
    be_np, be_t = _run_both(prog)
    # running statistics were compared as part of the weights; eval mode uses them:
    x = np.random.default_rng(9).standard_normal((5, 4))
    np.testing.assert_allclose(be_t.predict(x, 2), be_np.predict(x, 2), rtol=1e-6, atol=1e-7)  # outputs are float32


def test_fifty_steps_float32_cnn():
    """float32 end to end (the dtype users train in). Per-step loss differences are
    float32 rounding (~1e-7 relative); through 50 SGD steps on a smooth model they
    stay below 1e-4 relative (measured ~1e-6), far below any semantic difference."""
    specs = [("conv2d", {"filters": 3, "kernel": 3, "pad": 1}), ("tanh",), ("avgpool", {"size": 2}), ("flatten",),
             ("dense", {"units": 3}), ("softmax",)]
    prog = irbuild.program([1, 6, 6], specs, loss="cross_entropy", optimizer=("sgd", {"lr": 0.1, "momentum": 0.9}),
                           batch=BATCH, steps=STEPS)
    _run_both(prog, np.float32, rtol=1e-4, atol=1e-5)


def test_eval_mode_dropout_and_batchnorm_identical():
    specs = [("dense", {"units": 6}), ("batchnorm", {"momentum": 0.5}), ("dropout", {"p": 0.5}), ("relu",),
             ("dense", {"units": 2}), ("sigmoid",)]
    prog = irbuild.program([4], specs, loss="bce")
    params = _params(prog, np.float32)
    params["batchnorm_1.running_mean"] = np.linspace(-1, 1, 6).astype(np.float32)
    params["batchnorm_1.running_var"] = np.linspace(0.5, 2, 6).astype(np.float32)
    x = np.random.default_rng(10).standard_normal((9, 4)).astype(np.float32)
    y = (np.random.default_rng(11).random((9, 2)) > 0.5).astype(np.float32)
    outs = []
    for cls in (NumpyBackend, TorchBackend):
        be = cls(prog, params, seed=0)
        be.put_data("val", x, y)
        outs.append(be.evaluate("val", 4))
    # float32 rounding of a 2-layer net on O(1) values: < 1e-6.
    assert outs[0][0] == pytest.approx(outs[1][0], rel=1e-6)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("first", ["torch", "numpy"])
def test_weights_trained_on_one_backend_evaluate_identically_on_the_other(first):
    specs = [("conv2d", {"filters": 2, "kernel": 3}), ("batchnorm",), ("relu",), ("maxpool", {"size": 2}), ("flatten",),
             ("dense", {"units": 3}), ("softmax",)]
    prog = irbuild.program([1, 6, 6], specs, loss="cross_entropy", optimizer=("adam", {"lr": 0.01}), batch=BATCH, steps=20)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((N, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, N)
    a, b = (TorchBackend, NumpyBackend) if first == "torch" else (NumpyBackend, TorchBackend)
    trained, _ = _train(a, prog, _params(prog, np.float32), x, y)
    other = b(prog, _params(prog, np.float32), seed=0)
    other.set_params(trained.get_params())
    other.put_data("test", x, y)
    trained.put_data("test", x, y)
    la, oa = trained.evaluate("test", 10)
    lb, ob = other.evaluate("test", 10)
    # Same float32 weights, float32 arithmetic in a different order: < 1e-5.
    assert la == pytest.approx(lb, rel=1e-5)
    np.testing.assert_allclose(oa, ob, rtol=1e-5, atol=1e-6)
