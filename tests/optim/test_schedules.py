"""Learning-rate schedules: hand-computed values, per=epoch vs per=step, and torch's lr_scheduler.

Tolerance against torch: rtol 1e-12. torch computes StepLR/ExponentialLR/
CosineAnnealingLR recursively (one multiply or ratio per step), we use the
closed form; the recursion accumulates about one ulp per step (< 1e-13 over
the 60 steps here). Values near zero (cosine's end) are compared with an
absolute tolerance of 1e-12 * lr0 for the same reason.
"""
import math

import numpy as np
import pytest

from specc.errors import SpecError
from specc.errors import SpecErrors
from specc.frontend import compile_text
from specc.schedules import SCHEDULE_TABLE, lr_at, lr_table, steps_per_epoch, total_steps


def _v(v):
    return "[" + ", ".join(map(str, v)) + "]" if isinstance(v, (list, tuple)) else str(v)


def compiled(schedule: str, optimizer: str = "sgd(lr=0.5)", length: str = "epochs = 10"):
    """The train block as the front end checks and fills it (schedules never re-check arguments)."""
    text = (f"model m {{ input [1]; dense(1) }}\ntrain {{ loss = mse; optimizer = {optimizer}; "
            f"schedule = {schedule}; {length} }}")
    return compile_text(text).train


def train(name, per="step", lr=0.5, epochs=10, steps=None, **args):
    call = ", ".join([f"{k}={_v(v)}" for k, v in args.items()] + [f"per={per}"])
    return compiled(f"{name}({call})", f"sgd(lr={lr})", f"steps = {steps}" if steps else f"epochs = {epochs}")


def at(tr, step, spe=10, epoch=None):
    n = total_steps(tr, spe)
    return lr_at(tr, step, step // spe if epoch is None else epoch, spe, n)


def test_hand_computed_values():
    assert at(train("constant"), 77) == 0.5
    tr = train("step", every=3, gamma=0.5)
    assert [at(tr, t) for t in range(7)] == [0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    tr = train("piecewise", boundaries=[2, 5], values=[0.3, 0.2, 0.1])
    assert [at(tr, t) for t in range(7)] == [0.3, 0.3, 0.2, 0.2, 0.2, 0.1, 0.1]
    tr = train("exponential", s=2000)  # base 0.1: a factor 10 every 2000 steps
    assert at(tr, 0) == 0.5
    assert at(tr, 2000, spe=1000) == pytest.approx(0.05, rel=1e-14)
    assert at(tr, 1000, spe=1000) == pytest.approx(0.5 / math.sqrt(10), rel=1e-14)
    tr = train("power", s=4, p=2)
    assert at(tr, 4) == pytest.approx(0.5 / 4, rel=1e-15)  # (1 + 4/4)^-2 = 1/4
    tr = train("cosine", min_lr=0.1, epochs=1)  # T = 10 steps
    assert at(tr, 0) == 0.5
    assert at(tr, 5) == pytest.approx(0.3, rel=1e-15)  # halfway: the mean of lr0 and min_lr
    assert at(tr, 10) == pytest.approx(0.1, rel=1e-15)
    assert at(tr, 25) == pytest.approx(0.1, rel=1e-15)  # past T: stays at min_lr


def test_onecycle():
    tr = train("onecycle", lr=0.1, max_lr=1.0, final_lr=0.01, epochs=10)  # T = 100, warm-up 30 steps
    lrs = lr_table(tr, 10)
    assert lrs[0] == pytest.approx(0.1, rel=1e-15)
    assert lrs[15] == pytest.approx(0.55, rel=1e-14)  # half the ramp: the midpoint
    assert lrs[30] == pytest.approx(1.0, rel=1e-15)
    assert lrs[65] == pytest.approx((1.0 + 0.01) / 2, rel=1e-14)
    assert np.argmax(lrs) == 30 and np.all(np.diff(lrs[:31]) > 0) and np.all(np.diff(lrs[30:]) < 0)
    assert at(tr, 100) == pytest.approx(0.01, rel=1e-15)


def test_per_epoch_uses_the_epoch_index():
    by_epoch = train("step", per="epoch", every=2, gamma=0.1, epochs=5)
    lrs = lr_table(by_epoch, 3)  # 3 steps an epoch: lr changes after every 6 steps
    np.testing.assert_allclose(lrs, np.repeat([0.5, 0.5, 0.05, 0.05, 0.005], 3), rtol=1e-14)
    # cosine per epoch: T is the number of epochs; constant within an epoch
    tr = train("cosine", per="epoch", epochs=4)
    lrs = lr_table(tr, 5)
    per_step = lr_table(train("cosine", per="step", epochs=4), 5)
    assert len(lrs) == 20 and np.all(lrs.reshape(4, 5) == lrs.reshape(4, 5)[:, :1])
    np.testing.assert_allclose(lrs[::5], [0.5 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)], rtol=1e-14)
    assert not np.allclose(lrs, per_step)


def test_steps_instead_of_epochs():
    tr = train("cosine", steps=25)
    assert total_steps(tr, 10) == 25
    lrs = lr_table(tr, 10)
    assert len(lrs) == 25 and lrs[0] == 0.5
    assert lrs[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 24 / 25)) / 2)
    # per=epoch with steps=25 and 10 steps an epoch: T = 3 epochs
    tr = train("cosine", per="epoch", steps=25)
    assert lr_table(tr, 10)[20] == pytest.approx(0.5 * (1 + math.cos(math.pi * 2 / 3)) / 2)


def test_steps_per_epoch_keeps_the_partial_batch():
    assert steps_per_epoch(100, 10) == 10
    assert steps_per_epoch(101, 10) == 11
    assert steps_per_epoch(5, 10) == 1


def test_optimizer_default_lr():
    tr = compiled("step(every=1)", "adam")
    assert lr_at(tr, 1, 0, 10, 100) == pytest.approx(1e-4)


torch = pytest.importorskip("torch")


def torch_lrs(make, n, lr0=0.5):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    sched = make(opt)
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("name, args, make", [
    ("step", {"every": 7, "gamma": 0.3}, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.3)),
    ("exponential", {"s": 20, "base": 0.1},
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.1 ** (1 / 20))),
    ("power", {"s": 5, "p": 0.75}, lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: (1 + t / 5) ** -0.75)),
    ("cosine", {"min_lr": 0.0}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=60)),
    ("cosine", {"min_lr": 0.05}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=60, eta_min=0.05)),
])
def test_matches_torch_lr_scheduler(name, args, make):
    tr = train(name, epochs=6, **args)  # 6 epochs of 10 steps: T = 60
    np.testing.assert_allclose(lr_table(tr, 10), torch_lrs(make, 60), rtol=1e-12, atol=1e-12 * 0.5)


def test_torch_comparison_can_fail():
    tr = train("exponential", epochs=6, s=20)
    other = torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.1 ** (1 / 21)), 60)
    assert not np.allclose(lr_table(tr, 10), other, rtol=1e-12)


@pytest.mark.parametrize("schedule, message", [
    ("cosin", "did you mean `cosine`"),
    ("step", "needs `every`"),
    ("step(every=0)", "must be at least 1"),
    ("step(every=2.5)", "whole number"),
    ("step(every=2, per=batch)", "unknown `per` `batch`"),
    ("piecewise(boundaries=[5], values=[0.1])", "one more value than boundaries"),
    ("piecewise(boundaries=[5, 3], values=[0.1, 0.2, 0.3])", "must increase"),
    ("exponential(s=10, decay=2)", "unknown argument `decay`"),
])
def test_bad_schedules_are_front_end_errors(schedule, message):
    with pytest.raises(SpecErrors) as e:
        compiled(schedule)
    assert message in e.value.render()


def test_every_schedule_is_documented_with_its_formula():
    for name, fn in SCHEDULE_TABLE.items():
        assert fn.__doc__ and ("lr" in fn.__doc__ or "values" in fn.__doc__), name
