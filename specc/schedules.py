"""Learning-rate schedules: the learning rate as a pure function of training progress.

`lr_at(train, step, epoch, steps_per_epoch, total_steps)` is all a training loop
needs (nanoGPT style: set the lr at the top of every step). Every schedule is a
small function `f(lr0, t, T, **args)` in `SCHEDULE_TABLE`, where

* lr0 is the optimizer's `lr` (its default if the spec leaves it out),
* t is the progress counter: with `per=step` (the default) the number of
  optimizer steps already taken (0 for the first step), with `per=epoch` the
  0-based index of the current epoch,
* T is the length of training in the same unit (total steps, or epochs).

Only cosine and onecycle use T (and warmup, passing T minus the warmup on to `then`). No schedule lets the lr go below its final value
when training runs past T. `plateau` is the exception to "a function of t": it follows a
metric, so the driver keeps its state (specc/plateau.py); here it is lr0.
"""
from __future__ import annotations

import bisect
import math

import numpy as np

from .ir import TrainSpec

ONECYCLE_WARMUP = 0.3  # fraction of T spent ramping up to max_lr (torch OneCycleLR's pct_start default)


def constant(lr0, t, T):
    """lr0 at every step."""
    return lr0


def step(lr0, t, T, every, gamma=0.1):
    """lr0 * gamma^floor(t / every): multiply by gamma every `every` steps (Caffe `step`, torch StepLR)."""
    return lr0 * gamma ** (t // every)


def piecewise(lr0, t, T, boundaries, values):
    """values[i], i = number of boundaries <= t; the values are absolute learning rates
    (len(values) == len(boundaries) + 1; lr0 is not used)."""
    return values[bisect.bisect_right(boundaries, t)]


def exponential(lr0, t, T, s, base=0.1):
    """lr0 * base^(t / s): smooth decay by a factor `base` every s steps
    (torch ExponentialLR with gamma = base^(1/s))."""
    return lr0 * base ** (t / s)


def power(lr0, t, T, s, p=1.0):
    """lr0 * (1 + t/s)^-p: Caffe's `inv` policy, Keras' `decay` (p=1, s=1/decay)."""
    return lr0 * (1.0 + t / s) ** -p


def _cos_ramp(start, end, frac):
    """From `start` (frac=0) to `end` (frac=1) along half a cosine wave."""
    return end + (start - end) * (1.0 + math.cos(math.pi * frac)) / 2.0


def onecycle(lr0, t, T, max_lr, final_lr):
    """Smith's one-cycle policy: cosine ramp from lr0 up to max_lr over the first
    30% of T (w = 0.3 T), then cosine from max_lr down to final_lr at T:
    t < w: max_lr + (lr0 - max_lr)(1 + cos(pi t/w))/2;
    else:  final_lr + (max_lr - final_lr)(1 + cos(pi (t-w)/(T-w)))/2, final_lr from T on."""
    w = ONECYCLE_WARMUP * T
    if t < w:
        return _cos_ramp(lr0, max_lr, t / w)
    return _cos_ramp(max_lr, final_lr, min(1.0, (t - w) / (T - w)) if T > w else 1.0)


def cosine(lr0, t, T, min_lr=0.0):
    """min_lr + (lr0 - min_lr)(1 + cos(pi t/T))/2 (SGDR without restarts, torch
    CosineAnnealingLR with T_max = T); min_lr from T on."""
    return _cos_ramp(lr0, min_lr, min(1.0, t / T) if T > 0 else 1.0)


def warmup(lr0, t, T, length, then):
    """Linear warmup into another schedule: lr0 * t / length for t < length (0 at the first
    step), then the schedule `then` started afresh: then(lr0, t - length, T - length)
    (torch SequentialLR([LinearLR(start_factor -> 0, total_iters=length), then], [length])).
    `length` is in the unit of t (the driver turns `epochs=N` into steps for per=step)."""
    if t < length:
        return lr0 * t / length
    return SCHEDULE_TABLE[then.name](lr0, t - length, max(0, T - length), **then.args)


def plateau(lr0, t, T, **_args):
    """lr0 until the first reduction. The rest is driven by the monitored metric, not by t:
    the driver steps it after each epoch (specc/plateau.py, torch's ReduceLROnPlateau)."""
    return lr0


SCHEDULE_TABLE = {f.__name__: f for f in (constant, step, piecewise, exponential, power, onecycle, cosine, warmup,
                                          plateau)}


def steps_per_epoch(n_train: int, batch: int) -> int:
    """Optimizer steps in one epoch: ceil(n_train / batch) (the last, partial batch is kept)."""
    return max(1, -(-int(n_train) // int(batch)))


def total_steps(train: TrainSpec, steps_per_epoch: int) -> int:
    """Length of training in optimizer steps: `steps`, or `epochs * steps_per_epoch`."""
    return int(train.steps) if train.steps is not None else int(train.epochs) * int(steps_per_epoch)


def lr_at(train: TrainSpec, step: int, epoch: int, steps_per_epoch: int, total_steps: int) -> float:
    """The learning rate for optimizer step `step` (0-based) taken during epoch `epoch` (0-based).

    per=step: t = step, T = total_steps. per=epoch: t = epoch, T = the number of
    epochs (`train.epochs`, or ceil(total_steps / steps_per_epoch) for `steps=`).
    """
    return _schedule(train, steps_per_epoch, total_steps)(step, epoch)


def _schedule(train: TrainSpec, spe: int, n: int):
    """The schedule resolved once, as a function (step, epoch) -> lr."""
    # the front end checked every argument and filled in the defaults (specc/ops/catalog.py)
    args = dict(train.schedule.args)
    per = args.pop("per")
    if train.schedule.name == "warmup":  # its length in the unit of t (steps, or epochs with per=epoch)
        steps, epochs = args.pop("steps"), args.pop("epochs")
        args["length"] = steps if steps is not None else epochs * (1 if per == "epoch" else max(1, int(spe)))
    fn, lr0 = SCHEDULE_TABLE[train.schedule.name], float(train.optimizer.args["lr"])
    if per == "epoch":
        T = train.epochs if train.epochs is not None else -(-int(n) // max(1, int(spe)))
        return lambda step, epoch: float(fn(lr0, epoch, T, **args))
    return lambda step, epoch: float(fn(lr0, step, n, **args))


def lr_table(train: TrainSpec, steps_per_epoch: int) -> np.ndarray:
    """float64 [total_steps]: the lr of every optimizer step of the configured training."""
    spe = max(1, int(steps_per_epoch))
    n = total_steps(train, spe)
    at = _schedule(train, spe, n)
    return np.array([at(i, i // spe) for i in range(n)], dtype=np.float64)
