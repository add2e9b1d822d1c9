"""warmup(steps|epochs, then=<schedule>): values, torch's LinearLR + SequentialLR, static checks, `specc schedule`."""
from __future__ import annotations

import numpy as np
import pytest

from specc import cli
from specc.errors import SpecErrors
from specc.frontend import compile_text
from specc.printer import format_program
from specc.schedules import lr_table


def compiled(schedule: str, length: str = "steps = 40", lr: float = 0.5):
    text = (f"model m {{ input [1]; dense(1) }}\ntrain {{ loss = mse; optimizer = sgd(lr={lr}); "
            f"schedule = {schedule}; {length} }}")
    return compile_text(text)


def test_linear_from_zero_then_the_schedule_from_its_start():
    lrs = lr_table(compiled("warmup(steps=10, then=cosine(min_lr=0.1))").train, steps_per_epoch=8)
    np.testing.assert_allclose(lrs[:10], 0.5 * np.arange(10) / 10, rtol=1e-15)
    cosine = 0.1 + 0.4 * (1 + np.cos(np.pi * np.arange(30) / 30)) / 2  # T - warmup = 30 steps
    np.testing.assert_allclose(lrs[10:], cosine, rtol=1e-14)


def test_then_defaults_to_constant_and_epochs_count_steps():
    lrs = lr_table(compiled("warmup(epochs=2)").train, steps_per_epoch=5)
    np.testing.assert_allclose(lrs[:10], 0.5 * np.arange(10) / 10)
    assert set(lrs[10:]) == {0.5}


def test_per_epoch_warmup_changes_once_an_epoch():
    lrs = lr_table(compiled("warmup(epochs=2, then=step(every=2, gamma=0.5), per=epoch)", "epochs = 6").train, 3)
    np.testing.assert_allclose(lrs, np.repeat([0.0, 0.25, 0.5, 0.5, 0.25, 0.25], 3))


torch = pytest.importorskip("torch")


def _torch_lrs(make_then, warm, total, lr0=0.5, start=1e-10):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    linear = torch.optim.lr_scheduler.LinearLR(opt, start_factor=start, end_factor=1.0, total_iters=warm)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [linear, make_then(opt)], milestones=[warm])
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("spec,make_then", [
    ("cosine(min_lr=0.05)", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30, eta_min=0.05)),
    ("step(every=7, gamma=0.5)", lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5)),
    ("constant", lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0)),
])
def test_equals_torch_linear_lr_then_sequential_lr(spec, make_then):
    """LinearLR cannot start at 0 (start_factor > 0); from 1e-10 the two differ by < 1e-10 * lr."""
    ours = lr_table(compiled(f"warmup(steps=10, then={spec})").train, steps_per_epoch=8)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(ours, _torch_lrs(make_then, 10, 40), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("schedule,message", [
    ("warmup(then=cosine)", "exactly one of `steps=N` or `epochs=N`"),
    ("warmup(steps=3, epochs=2)", "exactly one of `steps=N` or `epochs=N`"),
    ("warmup(steps=0)", "warmup's `steps`"),
    ("warmup(steps=3, then=cosine(per=epoch))", "`per` goes on the outer `warmup(...)`"),
    ("warmup(steps=3, then=warmup(steps=2))", "cannot warm up into another `warmup`"),
    ("warmup(steps=3, then=cosinus)", "unknown schedule `cosinus`"),
    ("warmup(steps=3, then=step)", "every"),
    ("warmup(steps=3, per=epoch)", "with `per=epoch`"),
])
def test_bad_warmups_are_reported(schedule, message):
    with pytest.raises(SpecErrors, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        compiled(schedule)


def test_fmt_round_trips_the_nested_schedule():
    program = compiled("warmup(steps=10, then=cosine(min_lr=0.1))")
    text = format_program(program)
    assert "warmup(steps=10, then=cosine(min_lr=0.1))" in text
    assert compile_text(text).train.schedule == program.train.schedule


def test_specc_schedule_prints_and_plots_it(tmp_path, capsys):
    spec = tmp_path / "w.nn"
    spec.write_text("model m { input [1]; dense(1) }\ntrain { loss = mse; optimizer = sgd(lr=0.5); "
                    "schedule = warmup(steps=4, then=cosine); steps = 12 }\n")
    assert cli.main(["schedule", str(spec), "--n-train", "8", "--all"]) == 0
    out = capsys.readouterr().out
    assert "warmup(" in out and "then=cosine(" in out
    png = tmp_path / "lr.png"
    assert cli.main(["schedule", str(spec), "--n-train", "8", "--plot", str(png)]) == 0
    assert png.stat().st_size > 1000
