"""schedule = plateau(...): torch's ReduceLROnPlateau step for step, in a real run, across a resume,
`specc schedule`'s explanation and the static checks."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from specc import cli, driver, plateau
from specc.errors import SpecErrors
from specc.frontend import compile_text
from specc.printer import format_program
from specc.trainstate import TrainState

torch = pytest.importorskip("torch")

MOONS = """model m { input [2]; dense(8); tanh; dense(2); softmax }
data { source = moons(n=120, noise=0.3); split = [0.6, 0.4, 0.0] }
train { loss = cross_entropy; optimizer = sgd(lr=2.0); schedule = SCHEDULE; batch = 16; epochs = 12; seed = 1
        metrics = [accuracy] }
"""


def program(schedule: str, text: str = MOONS):
    return compile_text(text.replace("SCHEDULE", schedule), "t.nn")


def torch_lrs(values, lr0=1.0, **kw):
    """The lr after each ReduceLROnPlateau.step(value), from torch itself."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for v in values:
        sched.step(v)
        out.append(opt.param_groups[0]["lr"])
    return out


def specc_lrs(values, schedule: str):
    train = program(schedule).train
    state, out = TrainState(), []
    for v in values:
        plateau.observe(train, state, v)
        out.append(plateau.current_lr(train, state))
    return out


RNG = np.random.default_rng(0)
NOISY = list(1 / np.arange(1, 41) + RNG.normal(0, 0.02, 40))  # improves, then mostly noise
FLAT = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8999, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
RISING = [0.1, 0.2, 0.3, 0.35, 0.35, 0.34, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.41, 0.41, 0.41]


@pytest.mark.parametrize("values,schedule,kw", [
    (NOISY, "plateau", {}),
    (NOISY, "plateau(factor=0.5, patience=2)", {"factor": 0.5, "patience": 2}),
    (NOISY, "plateau(factor=0.5, patience=0, min_lr=0.1)", {"factor": 0.5, "patience": 0, "min_lr": 0.1}),
    (FLAT, "plateau(factor=0.3, patience=1, cooldown=2)", {"factor": 0.3, "patience": 1, "cooldown": 2}),
    (FLAT, "plateau(factor=0.5, patience=1, threshold=0.2)", {"factor": 0.5, "patience": 1, "threshold": 0.2}),
    (FLAT, "plateau(factor=0.5, patience=1, threshold=0.05, threshold_mode=abs)",
     {"factor": 0.5, "patience": 1, "threshold": 0.05, "threshold_mode": "abs"}),
    (RISING, "plateau(factor=0.5, patience=1, monitor=val_accuracy)", {"factor": 0.5, "patience": 1, "mode": "max"}),
    (RISING, "plateau(factor=0.5, patience=1, monitor=val_accuracy, threshold=0.01, threshold_mode=abs, cooldown=1)",
     {"factor": 0.5, "patience": 1, "mode": "max", "threshold": 0.01, "threshold_mode": "abs", "cooldown": 1}),
    ([1.0, float("nan"), float("nan"), 0.9, float("nan")], "plateau(factor=0.5, patience=1)",
     {"factor": 0.5, "patience": 1}),
    ([1.0] * 40, "plateau(factor=0.5, patience=0, min_lr=0.99999999)",  # below torch's eps: no change
     {"factor": 0.5, "patience": 0, "min_lr": 0.99999999}),
])
def test_equals_torch_reduce_lr_on_plateau(values, schedule, kw):
    lr0 = 2.0  # MOONS' sgd(lr=2.0)
    assert specc_lrs(values, schedule) == pytest.approx(torch_lrs(values, lr0=lr0, **kw), rel=1e-15, abs=0)


def test_a_run_follows_torch_on_its_own_val_losses(tmp_path):
    """The lr column of metrics.csv: epoch e+1 runs at the lr torch sets after seeing epochs 1..e."""
    result = driver.train(program("plateau(factor=0.5, patience=1)"), out=tmp_path / "run", handle_signals=False)
    val = [r["val_loss"] for r in result.history]
    want = [2.0] + torch_lrs(val[:-1], lr0=2.0, factor=0.5, patience=1)
    assert [r["lr"] for r in result.history] == pytest.approx(want, rel=1e-15)
    assert min(want) < 2.0  # the run really had plateaus (sgd at lr 2 on moons oscillates)


def test_resume_continues_the_plateau_state(tmp_path):
    prog = program("plateau(factor=0.5, patience=1)")
    full = driver.train(prog, out=tmp_path / "full", handle_signals=False)
    with pytest.raises(driver.Interrupted):  # 5 steps per epoch: stop inside epoch 6, after reductions
        driver.train(prog, out=tmp_path / "cut", interrupt_after=27, handle_signals=False)
    resumed = driver.train(prog, resume=tmp_path / "cut", handle_signals=False)
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in full.history]
    for k, v in full.params.items():
        np.testing.assert_array_equal(resumed.params[k], v)


def test_schedule_command_explains_instead_of_tabulating(tmp_path, capsys):
    path = tmp_path / "p.nn"
    path.write_text(MOONS.replace("SCHEDULE", "plateau(factor=0.5, patience=3)"))
    assert cli.main(["schedule", str(path)]) == 0
    out = capsys.readouterr().out
    assert "cannot be tabulated ahead" in out and "starts at 2" in out and "multiplied by 0.5" in out
    assert cli.main(["schedule", str(path), "--plot", str(tmp_path / "lr.png")]) == 2
    assert "cannot be plotted ahead" in capsys.readouterr().err
    assert not (tmp_path / "lr.png").exists()


def test_prints_and_compiles_back():
    p = program("plateau(factor=0.5, patience=2, monitor=val_accuracy, cooldown=1, threshold_mode=abs)")
    text = format_program(p)
    line = next(t for t in text.splitlines() if "schedule" in t)
    for part in ("plateau(", "factor=0.5", "patience=2", "val_accuracy", "cooldown=1", "abs"):
        assert part in line
    assert "per=" not in line and "min_lr" not in line  # always per epoch; defaults are not printed
    assert compile_text(text, "t.nn") == p
    assert p.train.schedule.args["per"] == "epoch"


@pytest.mark.parametrize("schedule,message", [
    ("plateau(factor=1.0)", "plateau's `factor`"),
    ("plateau(factor=0)", "plateau's `factor`"),
    ("plateau(patience=-1)", "plateau's `patience`"),
    ("plateau(monitor=val_f1)", "the plateau schedule monitors `val_f1`, which is not recorded"),
    ("plateau(threshold_mode=relative)", "threshold_mode"),
    ("plateau(per=step)", "stepped once per epoch"),
    ("warmup(steps=10, then=plateau)", "cannot follow a warmup"),
])
def test_bad_plateaus_are_reported(schedule, message):
    with pytest.raises(SpecErrors) as e:
        program(schedule)
    assert message in str(e.value)


def test_a_val_monitor_needs_a_validation_split():
    with pytest.raises(SpecErrors) as e:
        program("plateau", MOONS.replace("split = [0.6, 0.4, 0.0]", "split = [1.0, 0.0, 0.0]"))
    assert "the plateau schedule monitors `val_loss` but the data has no validation split" in str(e.value)
    assert program("plateau(monitor=train_loss)", MOONS.replace("[0.6, 0.4, 0.0]", "[1.0, 0.0, 0.0]"))


def test_state_survives_json():
    """The plateau state is part of the checkpoint's JSON meta."""
    st = TrainState(plateau_lr=0.25, plateau_best=0.5, plateau_bad=1, plateau_cooldown=2)
    again = TrainState.from_meta(json.loads(json.dumps(st.to_meta())))
    assert (again.plateau_lr, again.plateau_best, again.plateau_bad, again.plateau_cooldown) == (0.25, 0.5, 1, 2)
    assert math.isfinite(again.plateau_best)
