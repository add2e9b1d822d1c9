"""NumPy optimizers against torch.optim: the same float64 parameters, gradients
and changing learning rates through both for 20 steps.

Tolerance: rtol 1e-12 / atol 1e-14. Both sides compute the same float64
formulas; they differ only in operation order and fused kernels (torch's lerp,
addcdiv, possibly FMA), i.e. a few ulp (~1e-16 relative) per step, which grows to
at most ~1e-14 over 20 steps. A wrong rule (a missing bias correction, a swapped
sqrt/eps, dampening) is off by 1e-3 or more.
"""
import numpy as np
import pytest

from specc.backends.numpy.optim import OPTIMIZER_TABLE, make_optimizer
from specc.errors import SpecError, SpecErrors
from specc.frontend import compile_text

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-12, 1e-14


def _call(name, args):
    text = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in args.items())
    return f"{name}({text})" if text else name


def Spec(name, args):  # noqa: N802  (reads like the IR class it returns)
    """The optimizer as the front end checks and fills it: backends never re-default or re-check."""
    text = f"model m {{ input [1]; dense(1) }}\ntrain {{ loss = mse; optimizer = {_call(name, args)} }}"
    return compile_text(text).train.optimizer

SHAPES = {"dense_1.weight": (4, 3), "dense_1.bias": (4,), "conv2d_1.weight": (2, 1, 3, 3)}


def torch_optimizer(name, args, tensors):
    a = dict(args)
    a.pop("lr", None)
    if name == "sgd":
        return torch.optim.SGD(tensors, lr=1.0, momentum=a["momentum"], nesterov=a["nesterov"])
    if name == "adagrad":
        return torch.optim.Adagrad(tensors, lr=1.0, eps=a["eps"])
    if name == "rmsprop":
        return torch.optim.RMSprop(tensors, lr=1.0, alpha=a["rho"], eps=a["eps"], momentum=a["momentum"])
    if name == "adadelta":
        return torch.optim.Adadelta(tensors, lr=1.0, rho=a["rho"], eps=a["eps"])
    if name == "adam":
        return torch.optim.Adam(tensors, lr=1.0, betas=(a["beta1"], a["beta2"]), eps=a["eps"])
    if name == "adamw":
        return torch.optim.AdamW(tensors, lr=1.0, betas=(a["beta1"], a["beta2"]), eps=a["eps"],
                                 weight_decay=a["weight_decay"])
    raise AssertionError(name)


def run_both(spec, steps=20, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = make_optimizer(spec, params, list(SHAPES))
    topt = torch_optimizer(spec.name, opt.args, list(tensors.values()))
    for i in range(steps):
        lr = float(rng.uniform(0.01, 0.5))
        grads = {k: rng.normal(size=s) * rng.uniform(0.1, 3) for k, s in SHAPES.items()}
        opt.step(params, grads, lr)
        for g in topt.param_groups:
            g["lr"] = lr
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        topt.step()
        for k in SHAPES:
            np.testing.assert_allclose(params[k], tensors[k].detach().numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"{spec} step {i + 1} {k}")
    return opt, topt, tensors


CASES = [
    Spec("sgd", {"lr": 0.1}),
    Spec("sgd", {"lr": 0.1, "momentum": 0.9}),
    Spec("sgd", {"lr": 0.1, "momentum": 0.5, "nesterov": True}),
    Spec("adagrad", {}),
    Spec("adagrad", {"eps": 1e-3}),
    Spec("rmsprop", {}),
    Spec("rmsprop", {"rho": 0.9, "momentum": 0.8, "eps": 1e-4}),
    Spec("adadelta", {}),
    Spec("adadelta", {"rho": 0.5, "eps": 1e-3}),
    Spec("adam", {}),
    Spec("adam", {"beta1": 0.5, "beta2": 0.9, "eps": 1e-3}),
    Spec("adamw", {}),
    Spec("adamw", {"weight_decay": 0.3, "beta1": 0.8}),
]


@pytest.mark.parametrize("spec", CASES, ids=lambda s: f"{s.name}-{'-'.join(f'{k}{v}' for k, v in s.args.items())}")
def test_matches_torch(spec):
    opt, topt, tensors = run_both(spec)
    # the state arrays match torch's, under torch's names
    tstate = topt.state_dict()["state"]
    ours = opt.state_dict()
    assert int(ours["step"]) == 20
    for i, k in enumerate(SHAPES):
        for slot, value in tstate.get(i, {}).items():
            if slot == "step" or value is None:  # sgd without momentum keeps a None buffer
                continue
            np.testing.assert_allclose(ours[f"{k}.{slot}"], value.numpy(), rtol=RTOL, atol=ATOL)


def test_the_comparison_can_fail():
    """A deliberately different rule (dampening 0.1) is caught by the tolerance."""
    rng = np.random.default_rng(0)
    p = {"w": rng.normal(size=5)}
    t = torch.tensor(p["w"], requires_grad=True)
    opt = make_optimizer(Spec("sgd", {"lr": 0.1, "momentum": 0.9}), p, ["w"])
    topt = torch.optim.SGD([t], lr=0.1, momentum=0.9, dampening=0.1)
    for _ in range(3):
        g = rng.normal(size=5)
        opt.step(p, {"w": g}, 0.1)
        t.grad = torch.tensor(g)
        topt.step()
    assert not np.allclose(p["w"], t.detach().numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("spec", [Spec("sgd", {"lr": 1, "momentum": 0.9}), Spec("rmsprop", {"momentum": 0.5}),
                                  Spec("adadelta", {}), Spec("adamw", {})], ids=lambda s: s.name)
def test_state_dict_roundtrip_through_npz(spec, tmp_path):
    """Resuming from a saved state continues exactly as an uninterrupted run."""
    rng = np.random.default_rng(1)
    start = {k: rng.normal(size=s) for k, s in SHAPES.items()}
    grads = [{k: rng.normal(size=s) for k, s in SHAPES.items()} for _ in range(10)]
    lrs = rng.uniform(0.01, 0.1, size=10)

    a = {k: v.copy() for k, v in start.items()}
    opt = make_optimizer(spec, a, list(SHAPES))
    for g, lr in zip(grads, lrs):
        opt.step(a, {k: v.copy() for k, v in g.items()}, lr)

    b = {k: v.copy() for k, v in start.items()}
    opt1 = make_optimizer(spec, b, list(SHAPES))
    for g, lr in zip(grads[:5], lrs[:5]):
        opt1.step(b, {k: v.copy() for k, v in g.items()}, lr)
    np.savez(tmp_path / "opt.npz", **opt1.state_dict())
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
        saved = dict(f)
    opt2 = make_optimizer(spec, b, list(SHAPES))
    opt2.load_state_dict(saved)
    for g, lr in zip(grads[5:], lrs[5:]):
        opt2.step(b, {k: v.copy() for k, v in g.items()}, lr)
    for k in SHAPES:
        np.testing.assert_array_equal(a[k], b[k])  # same operations in the same order: bit-identical


def test_state_dict_is_flat_and_named():
    p = {"dense_1.weight": np.zeros((2, 2), np.float32), "dense_1.bias": np.zeros(2, np.float32)}
    opt = make_optimizer(Spec("adam", {}), p, ["dense_1.weight", "dense_1.bias"])
    assert sorted(opt.state_dict()) == ["dense_1.bias.exp_avg", "dense_1.bias.exp_avg_sq",
                                        "dense_1.weight.exp_avg", "dense_1.weight.exp_avg_sq", "step"]
    opt = make_optimizer(Spec("sgd", {"lr": 0.1}), p, ["dense_1.weight"])
    assert sorted(opt.state_dict()) == ["step"]
    opt = make_optimizer(Spec("sgd", {"lr": 0.1, "momentum": 0.9}), p, ["dense_1.weight"])
    assert sorted(opt.state_dict()) == ["dense_1.weight.momentum_buffer", "step"]


def test_load_state_of_another_optimizer_is_a_clear_error():
    p = {"w": np.zeros(3)}
    adam = make_optimizer(Spec("adam", {}), p, ["w"])
    sgd = make_optimizer(Spec("sgd", {"lr": 0.1, "momentum": 0.9}), p, ["w"])
    with pytest.raises(SpecError, match="does not fit this `sgd` optimizer"):
        sgd.load_state_dict(adam.state_dict())
    other = make_optimizer(Spec("sgd", {"lr": 0.1, "momentum": 0.9}), {"w": np.zeros(4)}, ["w"])
    with pytest.raises(SpecError, match="has shape"):
        sgd.load_state_dict(other.state_dict())


def test_float32_stays_float32_and_only_trainable_keys_move():
    p = {"w": np.ones(3, np.float32), "running_mean": np.ones(3, np.float32)}
    for name in OPTIMIZER_TABLE:
        q = {k: v.copy() for k, v in p.items()}
        opt = make_optimizer(Spec(name, {"lr": 0.1}), q, ["w"])
        opt.step(q, {"w": np.full(3, 0.5, np.float32)}, 0.1)
        assert q["w"].dtype == np.float32 and all(a.dtype == np.float32 for a in opt.state_dict().values()
                                                  if a.ndim)
        assert np.all(q["w"] < 1), name
        np.testing.assert_array_equal(q["running_mean"], p["running_mean"])


def test_classic_rules_are_plain_sgd_steps():
    """Perceptron: w += lr (y - y_hat) x, given the error signal -(y - y_hat) x as the gradient."""
    x, y, y_hat = np.array([1.0, -2.0, 0.5]), 1.0, 0.0
    for name, lr in (("perceptron", 1.0), ("adaline", 0.01)):
        p = {"w": np.zeros(3)}
        opt = make_optimizer(Spec(name, {"lr": lr}), p, ["w"])
        opt.step(p, {"w": -(y - y_hat) * x}, opt.args["lr"])
        opt.step(p, {"w": -(y - y_hat) * x}, opt.args["lr"])  # no momentum: the second step is the same size
        np.testing.assert_allclose(p["w"], 2 * lr * (y - y_hat) * x, rtol=1e-15)


@pytest.mark.parametrize("call, message", [
    ("sgdd(lr=1)", "did you mean `sgd`"),
    ("sgd", "needs `lr`"),
    ("adam(beta=0.9)", "unknown argument `beta`"),
    ("adam(beta1=1.0)", "must be < 1"),
    ("sgd(lr=0.1, nesterov=true)", "nesterov needs momentum > 0"),
    ("rmsprop(lr=-1)", "must be > 0"),
    ("rmsprop(lr=0)", "must be > 0"),  # the NumPy backend once accepted lr = 0: now one check, in the front end
])
def test_bad_optimizers_are_front_end_errors(call, message):
    with pytest.raises(SpecErrors) as e:
        compile_text(f"model m {{ input [1]; dense(1) }}\ntrain {{ loss = mse; optimizer = {call} }}")
    assert message in e.value.render()


def test_table_covers_the_language():
    from specc.ops import OPTIMIZERS
    assert set(OPTIMIZERS) <= set(OPTIMIZER_TABLE)


def test_sgd_state_saved_by_torch_resumes_exactly():
    """torch's SGD keeps no step count, so the torch backend saves step 0 with a live
    momentum buffer; the momentum must continue from that buffer, not restart at g."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=4)
    t = torch.tensor(w.copy(), requires_grad=True)
    topt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    for _ in range(3):
        t.grad = torch.tensor(rng.normal(size=4))
        topt.step()
    p = {"w": t.detach().numpy().copy()}
    opt = make_optimizer(Spec("sgd", {"lr": 0.1, "momentum": 0.9}), p, ["w"])
    opt.load_state_dict({"w.momentum_buffer": topt.state_dict()["state"][0]["momentum_buffer"].numpy(),
                         "step": np.array(0, np.int64)})
    g = rng.normal(size=4)
    opt.step(p, {"w": g}, 0.1)
    t.grad = torch.tensor(g)
    topt.step()
    np.testing.assert_allclose(p["w"], t.detach().numpy(), rtol=RTOL, atol=ATOL)


def test_fresh_state_without_buffers_loads_as_zeros():
    p = {"w": np.ones(2)}
    opt = make_optimizer(Spec("adam", {}), p, ["w"])
    opt.load_state_dict({"step": np.array(0, np.int64)})
    assert opt.t == 0 and not opt.state_dict()["w.exp_avg"].any()
