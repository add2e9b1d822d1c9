"""cross_entropy(weights, label_smoothing), bce(pos_weight), focal(gamma): NumPy and torch
against PyTorch's own functions on the same numbers, NumPy gradients by finite differences,
`weights=balanced` against scikit-learn, and the static checks."""
from __future__ import annotations

import numpy as np
import pytest

from specc.backends.numpy import losses as np_losses
from specc.class_weights import balanced_weights, resolve_balanced
from specc.errors import DataError, SpecErrors
from specc.frontend import compile_text

torch = pytest.importorskip("torch")
F = torch.nn.functional
from specc.backends.torch.losses import LOSS_TABLE  # noqa: E402

RNG = np.random.default_rng(0)
N, C = 7, 4
LOGITS = RNG.normal(size=(N, C)) * 3
INDEX = np.array([0, 1, 3, 3, 2, 0, 3])
SOFT = RNG.dirichlet(np.ones(C), size=N)
WEIGHTS = [0.5, 2.0, 1.0, 3.0]

CE_CASES = [
    {"weights": WEIGHTS, "label_smoothing": 0.0},
    {"weights": None, "label_smoothing": 0.1},
    {"weights": WEIGHTS, "label_smoothing": 0.2},
]


def _t(a):
    return torch.tensor(a, dtype=torch.float64)


def _torch_row(name, args, h, y):
    """The torch backend's loss on logits h (fused: `out` is not read)."""
    return float(LOSS_TABLE[name](_t(h), _t(h), torch.tensor(y) if y.dtype.kind == "i" else _t(y), args, None, True))


@pytest.mark.parametrize("args", CE_CASES)
@pytest.mark.parametrize("target", ["index", "soft"])
def test_cross_entropy_equals_pytorch(args, target):
    y = INDEX if target == "index" else SOFT
    ty = torch.tensor(y) if target == "index" else _t(y)
    w = None if args["weights"] is None else _t(args["weights"])
    expected = float(F.cross_entropy(_t(LOGITS), ty, weight=w, label_smoothing=args["label_smoothing"]))
    value, _ = np_losses.cross_entropy(LOGITS, y, args, fused=True)
    assert value == pytest.approx(expected, rel=1e-12)
    assert _torch_row("cross_entropy", args, LOGITS, y) == pytest.approx(expected, rel=1e-12)


def test_weighted_mean_divides_by_the_targets_weights():
    """The documented rule: sum_i w_{y_i} (-log p_{i,y_i}) / sum_i w_{y_i}."""
    logp = LOGITS - np.log(np.exp(LOGITS).sum(1, keepdims=True))
    w = np.array(WEIGHTS)
    by_hand = -(w[INDEX] * logp[np.arange(N), INDEX]).sum() / w[INDEX].sum()
    value, _ = np_losses.cross_entropy(LOGITS, INDEX, {"weights": WEIGHTS, "label_smoothing": 0.0})
    assert value == pytest.approx(by_hand, rel=1e-12)


def test_bce_pos_weight_equals_pytorch():
    z = RNG.normal(size=(N, 3)) * 4
    y = (RNG.random((N, 3)) > 0.5).astype(np.float64)
    for pw in (3.0, [0.5, 2.0, 4.0]):
        expected = float(F.binary_cross_entropy_with_logits(_t(z), _t(y), pos_weight=_t(pw), reduction="none")
                          .sum(1).mean())
        value, _ = np_losses.bce(z, y, {"pos_weight": pw}, fused=True)
        assert value == pytest.approx(expected, rel=1e-12)
        assert _torch_row("bce", {"pos_weight": pw}, z, y) == pytest.approx(expected, rel=1e-12)


def _focal_by_hand(logits, y, gamma):
    """The formula in docs/language.md, written directly in torch: mean_i -(1 - p_t)^gamma log p_t."""
    p = torch.softmax(_t(logits), 1)
    pt = p[torch.arange(len(y)), torch.tensor(y)]
    return float((-(1 - pt) ** gamma * torch.log(pt)).mean())


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_focal_equals_the_formula(gamma):
    expected = _focal_by_hand(LOGITS, INDEX, gamma)
    value, _ = np_losses.focal(LOGITS, INDEX, {"gamma": gamma})
    assert value == pytest.approx(expected, rel=1e-10)
    assert _torch_row("focal", {"gamma": gamma}, LOGITS, INDEX) == pytest.approx(expected, rel=1e-10)


def test_focal_with_gamma_0_is_cross_entropy():
    assert np_losses.focal(LOGITS, INDEX, {"gamma": 0.0})[0] == pytest.approx(
        float(F.cross_entropy(_t(LOGITS), torch.tensor(INDEX))), rel=1e-12)


def _numeric_grad(fn, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (fn(xp) - fn(xm)) / (2 * eps)
    return g


GRAD_CASES = [
    ("cross_entropy", {"weights": WEIGHTS, "label_smoothing": 0.1}, LOGITS, INDEX, True),
    ("cross_entropy", {"weights": WEIGHTS, "label_smoothing": 0.1}, LOGITS, SOFT, True),
    ("cross_entropy", {"weights": WEIGHTS, "label_smoothing": 0.1}, SOFT, INDEX, False),
    ("focal", {"gamma": 2.0}, LOGITS, INDEX, True),
    ("focal", {"gamma": 0.5}, LOGITS, SOFT, True),
    ("focal", {"gamma": 2.0}, SOFT, INDEX, False),
    ("bce", {"pos_weight": [0.5, 2.0, 4.0, 1.0]}, LOGITS, (SOFT > 0.25).astype(np.float64), True),
    ("bce", {"pos_weight": 3.0}, 1 / (1 + np.exp(-LOGITS)), (SOFT > 0.25).astype(np.float64), False),
]


@pytest.mark.parametrize("name,args,o,y,fused", GRAD_CASES)
def test_numpy_gradient_matches_finite_differences(name, args, o, y, fused):
    value, grad = np_losses.compute(name, args, o, y, fused=fused)
    numeric = _numeric_grad(lambda x: np_losses.compute(name, args, x, y, fused=fused)[0], o)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,args", [("cross_entropy", {"weights": WEIGHTS, "label_smoothing": 0.1}),
                                       ("focal", {"gamma": 2.0})])
def test_saturated_logits_stay_finite(name, args):
    z = np.array([[1000.0, -1000.0, 0.0, 5.0], [-800.0, 800.0, 1.0, 0.0]], dtype=np.float32)
    y = np.array([1, 1])
    value, grad = np_losses.compute(name, args, z, y, fused=True)
    assert np.isfinite(value) and np.isfinite(grad).all()
    tv = LOSS_TABLE[name](torch.tensor(z, requires_grad=True), None, torch.tensor(y), args, None, True)
    assert np.isfinite(float(tv)) and float(tv) == pytest.approx(value, rel=1e-5, abs=1e-6)


# ---- weights=balanced ---------------------------------------------------------------

def test_balanced_weights_equal_scikit_learns():
    utils = pytest.importorskip("sklearn.utils")
    y = np.array([0, 0, 0, 0, 1, 2, 2, 1, 0, 0])
    expected = utils.compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(balanced_weights(y, 3), expected, rtol=1e-15)
    np.testing.assert_allclose(balanced_weights(np.eye(3)[y].astype(np.float32), 3), expected, rtol=1e-15)


def test_balanced_with_a_missing_class_is_a_clear_error():
    with pytest.raises(DataError, match="class 2 never occurs in the training split"):
        balanced_weights(np.array([0, 1, 1]), 3)


SPEC = """model m {{ input [2]; dense(3); softmax }}
data {{ source = blobs(n=90, centers=3); split = [1.0, 0, 0] }}
train {{ loss = {loss}; optimizer = sgd(lr=0.1); epochs = 1 }}
"""


def test_resolve_balanced_fills_in_the_numbers():
    program = compile_text(SPEC.format(loss="cross_entropy(weights=balanced, label_smoothing=0.1)"))
    assert program.train.losses[0].loss.args["weights"] == "balanced"
    y = np.array([0] * 60 + [1] * 20 + [2] * 10)
    resolved = resolve_balanced(program, [y])
    assert resolved.train.losses[0].loss.args == {"weights": balanced_weights(y, 3), "label_smoothing": 0.1}
    assert program.train.losses[0].loss.args["weights"] == "balanced"  # the compiled program is left alone


def test_training_with_balanced_weights_on_numpy_and_torch_agrees():
    from specc import driver

    program = compile_text(SPEC.format(loss="cross_entropy(weights=balanced)"))
    results = [driver.train(program, backend=b, out=None) for b in ("numpy", "torch")]
    a, b = (r.history[0]["train_loss"] for r in results)
    assert a == pytest.approx(b, rel=1e-4)


# ---- static checks ------------------------------------------------------------------

@pytest.mark.parametrize("loss,message", [
    ("cross_entropy(weights=[1, 2])", "lists 2 values, but the model has 3 output units"),
    ("cross_entropy(weights=[0, 0, 0])", "must not all be 0"),
    ("cross_entropy(weights=[1, -1, 2])", "weights"),
    ("cross_entropy(weights=heavy)", "must be `balanced` or a list of per-class weights"),
    ("cross_entropy(label_smoothing=1.5)", "label_smoothing"),
    ("focal(gamma=-1)", "gamma"),
    ("bce(pos_weight=2)", "needs the model to end in `sigmoid`"),
])
def test_bad_loss_arguments_are_reported(loss, message):
    with pytest.raises(SpecErrors) as e:
        compile_text(SPEC.format(loss=loss))
    assert message in str(e.value)


def test_pos_weight_per_unit_must_match_the_outputs():
    text = SPEC.replace("dense(3); softmax", "dense(2); sigmoid").format(loss="bce(pos_weight=[1, 2, 3])")
    with pytest.raises(SpecErrors, match="lists 3 values, but the model has 2 output units"):
        compile_text(text)


def test_verify_runs_on_a_spec_with_balanced_weights(tmp_path, capsys):
    """`specc verify` has no training split: it compares the backends with all-ones weights."""
    from specc import cli

    spec = tmp_path / "b.nn"
    spec.write_text(SPEC.format(loss="cross_entropy(weights=balanced, label_smoothing=0.1)"))
    assert cli.main(["verify", str(spec)]) == 0
