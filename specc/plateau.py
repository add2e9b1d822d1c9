"""The `plateau` schedule: PyTorch's ReduceLROnPlateau, stepped once per epoch on a monitored value.

Unlike every other schedule the learning rate is not a function of the step: it depends
on the run's validation history, so its state (the current lr, the best value, the bad
epochs and the cooldown left) lives in the TrainState and travels with the checkpoint.
`observe` is torch.optim.lr_scheduler.ReduceLROnPlateau.step, line for line: an epoch is
better when `value < best·(1 − threshold)` (rel, min) or `value < best − threshold` (abs)
(mirrored for a maximized monitor, e.g. val_accuracy); bad epochs in cooldown are ignored;
after more than `patience` bad epochs the lr becomes max(lr·factor, min_lr), unless that
changes it by no more than 1e-8 (torch's eps).
"""
from __future__ import annotations

import math

from .earlystop import monitor_mode
from .errors import SpecError
from .ir import TrainSpec
from .trainstate import TrainState

EPS = 1e-8  # torch's default `eps`: smaller reductions are skipped


def active(train: TrainSpec) -> bool:
    return train.schedule.name == "plateau"


def check_has_val(train: TrainSpec, has_val: bool) -> None:
    """A val_* monitor needs a validation split (data given as arrays skips the front end's check)."""
    if active(train) and train.schedule.args["monitor"].startswith("val_") and not has_val:
        raise SpecError(f"the plateau schedule monitors `{train.schedule.args['monitor']}` but the data has no "
                        "validation split", train.schedule.pos,
                        hint="add `val = 0.1` (or a val fraction in `split`) to `data`, or pass val arrays")


def current_lr(train: TrainSpec, state: TrainState) -> float:
    """The lr of the next step: the optimizer's lr until the first reduction."""
    return float(train.optimizer.args["lr"]) if state.plateau_lr is None else state.plateau_lr


def _better(value: float, best: float | None, mode: str, threshold: float, threshold_mode: str) -> bool:
    if best is None:  # torch starts from mode_worse (inf for min, -inf for max)
        best = math.inf if mode == "min" else -math.inf
    if mode == "min":
        return value < (best * (1.0 - threshold) if threshold_mode == "rel" else best - threshold)
    return value > (best * (1.0 + threshold) if threshold_mode == "rel" else best + threshold)


def observe(train: TrainSpec, state: TrainState, value: float) -> None:
    """One epoch's monitored value: update the best, the bad-epoch count and maybe the lr (in state)."""
    a = train.schedule.args
    value = float(value)
    if _better(value, state.plateau_best, monitor_mode(a["monitor"]), a["threshold"], a["threshold_mode"]):
        state.plateau_best, state.plateau_bad = value, 0
    else:
        state.plateau_bad += 1
    if state.plateau_cooldown > 0:  # bad epochs during cooldown do not count
        state.plateau_cooldown -= 1
        state.plateau_bad = 0
    if state.plateau_bad > a["patience"]:
        old = current_lr(train, state)
        new = max(old * a["factor"], a["min_lr"])
        if old - new > EPS:
            state.plateau_lr = new
        state.plateau_cooldown, state.plateau_bad = a["cooldown"], 0
