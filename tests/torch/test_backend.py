"""TorchBackend behaviour beyond the lowering: update order, state round trips, devices, diagnostics."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_irbuild as irbuild  # noqa: E402
from specc.backends.torch.backend import TorchBackend, resolve_device  # noqa: E402
from specc.errors import SpecError  # noqa: E402
from specc.init import initial_params  # noqa: E402

MLP = [("dense", {"units": 6}), ("tanh",), ("dense", {"units": 3}), ("softmax",)]


def _backend(prog=None, **kw):
    prog = prog or irbuild.program([4], MLP, loss="cross_entropy", optimizer=("adam", {"lr": 0.01}))
    be = TorchBackend(prog, initial_params(prog), seed=0, device="cpu", **kw)
    rng = np.random.default_rng(0)
    be.put_data("train", rng.standard_normal((20, 4)).astype(np.float32), rng.integers(0, 3, 20))
    be.set_order(rng.permutation(20))
    return prog, be


def test_update_order_l2_then_clip_then_weight_decay_then_step():
    """One SGD step by hand, in float64, following ARCHITECTURE.md's order."""
    l2, clip, wd, lr = 0.1, 0.05, 0.2, 0.5
    prog = irbuild.program([4], MLP, loss="cross_entropy", optimizer=("sgd", {"lr": lr}), l2=l2, clip_norm=clip,
                           weight_decay=wd)
    params = {k: v.astype(np.float64) for k, v in initial_params(prog).items()}
    x = np.random.default_rng(1).standard_normal((5, 4))
    y = np.array([0, 1, 2, 1, 0])
    # reference: autograd for the data gradient, then the update by hand
    ref = TorchBackend(prog, params, seed=0, device="cpu")
    h, out = ref.model.forward_parts(torch.from_numpy(x))
    ref._loss(h, out, torch.from_numpy(y)).backward()
    grads = {k: p.grad.numpy().copy() for k, p in ref.model.named_parameters()}
    decay = {"dense_1.weight", "dense_2.weight"}
    for k in decay:
        grads[k] += l2 * params[k]
    norm = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    assert norm > clip  # the clip is active in this configuration
    grads = {k: g * clip / (norm + 1e-6) for k, g in grads.items()}
    expect = {k: (p * (1 - wd) if k in decay else p) - lr * grads[k] for k, p in params.items()}

    be = TorchBackend(prog, params, seed=0, device="cpu")
    be.put_data("train", x, y)
    be.set_order(np.arange(5))
    be.train_step(0, 5, lr, 0)
    got = {k: v.numpy() for k, v in be.model.state_dict().items()}
    for k in expect:
        np.testing.assert_allclose(got[k], expect[k], rtol=1e-12, atol=1e-14, err_msg=k)


def test_train_step_returns_a_detached_tensor_and_losses_sync_once():
    _, be = _backend()
    hs = [be.train_step(0, 8, 0.01, 0), be.train_step(8, 16, 0.01, 1), be.train_step(16, 20, 0.01, 2)]
    assert all(torch.is_tensor(h) and not h.requires_grad for h in hs)
    arr = be.losses_to_numpy(hs)
    assert arr.dtype == np.float64 and arr.shape == (3,) and np.isfinite(arr).all()


def test_lr_is_set_every_step():
    _, be = _backend()
    be.train_step(0, 8, 0.123, 0)
    assert be.opt.param_groups[0]["lr"] == 0.123


def test_optimizer_state_round_trip_resumes_exactly():
    prog, a = _backend()
    for i in range(3):
        a.train_step(0, 8, 0.01, i)
    state, params = a.optimizer_state(), a.get_params()
    assert state["step"] == 3 and "dense_1.weight.exp_avg" in state  # the NumPy backend's format
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in state.values())
    _, b = _backend(prog)
    b.set_params(params)
    b.load_optimizer_state(state)
    a.train_step(8, 16, 0.01, 3)
    b.train_step(8, 16, 0.01, 3)
    for k, v in a.get_params().items():
        np.testing.assert_array_equal(b.get_params()[k], v)


def test_optimizer_state_from_numpy_backend_loads():
    nb = pytest.importorskip("specc.backends.numpy.backend")
    prog = irbuild.program([4], MLP, loss="cross_entropy", optimizer=("rmsprop", {"lr": 0.01, "momentum": 0.5}))
    n = nb.NumpyBackend(prog, initial_params(prog), seed=0)
    x = np.random.default_rng(2).standard_normal((8, 4)).astype(np.float32)
    n.put_data("train", x, np.arange(8) % 3)
    n.train_step(0, 8, 0.01, 0)
    _, t = _backend(prog)
    t.load_optimizer_state(n.optimizer_state())
    assert sorted(t.optimizer_state()) == sorted(n.optimizer_state())


def test_get_params_are_canonical_float32_and_set_params_checks_shapes():
    prog, be = _backend()
    p = be.get_params()
    assert list(p) == list(initial_params(prog)) and all(v.dtype == np.float32 for v in p.values())
    with pytest.raises(ValueError, match="dense_1.weight"):
        be.set_params({**p, "dense_1.weight": np.zeros((2, 2), np.float32)})
    with pytest.raises(KeyError, match="missing"):
        be.set_params({k: v for k, v in p.items() if k != "dense_1.bias"})


def test_evaluate_matches_a_plain_forward_and_predict():
    _, be = _backend()
    x = be._x["train"][0].numpy()
    loss, out = be.evaluate("train", 7)
    assert out.shape == (20, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, be.predict(x, 3), rtol=1e-6)
    logp = np.log(out[np.arange(20), be._y["train"][0].numpy()])
    assert loss == pytest.approx(-logp.mean(), rel=1e-5)  # float32 log of probabilities vs fused form


def test_nonfinite_layer_names_the_first_bad_layer():
    _, be = _backend()
    p = be.get_params()
    p["dense_2.weight"][0, 0] = np.inf
    be.set_params(p)
    loss = be.losses_to_numpy([be.train_step(0, 8, 0.01, 0)])
    assert not np.isfinite(loss).all()
    assert be.nonfinite_layer() == "dense_2"


def test_nonfinite_layer_is_none_when_all_is_finite():
    _, be = _backend()
    be.train_step(0, 8, 0.01, 0)
    assert be.nonfinite_layer() is None


def test_autoencoder_without_targets_uses_the_input():
    prog = irbuild.program([4], [("dense", {"units": 2}), ("tanh",), ("dense", {"units": 4})], loss="mse")
    be = TorchBackend(prog, initial_params(prog), seed=0, device="cpu")
    be.put_data("train", np.ones((6, 4), np.float32), None)
    be.set_order(np.arange(6))
    assert np.isfinite(be.losses_to_numpy([be.train_step(0, 6, 0.1, 0)])).all()


def test_device_choices():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(SpecError, match="unknown device|unsupported"):
        resolve_device("tpu:banana")
    if not torch.cuda.is_available():
        with pytest.raises(SpecError, match="no CUDA GPU"):
            resolve_device("cuda:0")


def test_amp_is_ignored_on_cpu_and_dtype_float64_is_honoured():
    _, be = _backend(amp=True)
    assert be.amp_dtype is None
    prog = irbuild.program([4], MLP, loss="cross_entropy")
    be64 = TorchBackend(prog, initial_params(prog), seed=0, device="cpu", dtype="float64")
    assert next(be64.model.parameters()).dtype == torch.float64
    assert be64.get_params()["dense_1.weight"].dtype == np.float32  # canonical output stays float32


def test_no_trainable_parameters_still_reports_a_loss():
    prog = irbuild.program([4], [("tanh",)], loss="mse")
    be = TorchBackend(prog, {}, seed=0, device="cpu")
    be.put_data("train", np.ones((3, 4), np.float32), np.zeros((3, 4), np.float32))
    be.set_order(np.arange(3))
    assert be.losses_to_numpy([be.train_step(0, 3, 0.1, 0)])[0] == pytest.approx(np.tanh(1.0) ** 2, rel=1e-6)
    assert be.optimizer_state() == {}


@pytest.mark.slow
@pytest.mark.skipif(not __import__("os").environ.get("SPECC_SLOW"), reason="torch.compile takes ~30 s on 2 cores; set SPECC_SLOW=1")
def test_compile_matches_eager_on_cpu():
    specs = [("dense", {"units": 6}), ("step",), ("dense", {"units": 6}), ("tanh",), ("dense", {"units": 3}), ("softmax",)]
    prog = irbuild.program([4], specs, loss="cross_entropy")
    curves = []
    for compile in (False, True):
        _, be = _backend(prog, compile=compile)
        curves.append(be.losses_to_numpy([be.train_step(0, 8, 0.1, i) for i in range(5)]))
    # Inductor may fuse/reorder float32 arithmetic: ~1e-6 relative.
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-5)
