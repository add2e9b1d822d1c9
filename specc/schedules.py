"""Learning-rate schedules: the learning rate as a pure function of training progress.

`lr_at(train, step, epoch, steps_per_epoch, total_steps)` is all a training loop
needs (nanoGPT style: set the lr at the top of every step). Every schedule is a
small function `f(lr0, t, T, **args)` in `SCHEDULE_TABLE`, where

* lr0 is the optimizer's `lr` (its default if the spec leaves it out),
* t is the progress counter: with `per=step` (the default) the number of
  optimizer steps already taken (0 for the first step), with `per=epoch` the
  0-based index of the current epoch,
* T is the length of training in the same unit (total steps, or epochs).

Only cosine and onecycle use T. No schedule lets the lr go below its final value
when training runs past T.
"""
from __future__ import annotations

import bisect
import math

import numpy as np

from .errors import SpecError, did_you_mean
from .ir import Spec, TrainSpec
from .ops import OPTIMIZERS, REQUIRED, SCHEDULES

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


SCHEDULE_TABLE = {f.__name__: f for f in (constant, step, piecewise, exponential, power, onecycle, cosine)}


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def resolve_schedule(spec: Spec) -> tuple[str, dict]:
    """(per, arguments with defaults) of a schedule spec; bad specs are SpecErrors at its position."""
    if spec.name not in SCHEDULES:
        raise SpecError(f"unknown schedule `{spec.name}`", spec.pos, did_you_mean(spec.name, SCHEDULES))
    defaults = SCHEDULES[spec.name]
    args = dict(spec.args)
    per = args.pop("per", "step")
    if per not in ("step", "epoch"):
        raise SpecError(f"schedule `{spec.name}`: per must be `step` or `epoch`, not `{per}`", spec.pos)
    for k in args:
        if k not in defaults:
            raise SpecError(f"schedule `{spec.name}` has no argument `{k}`", spec.pos, did_you_mean(k, defaults))
    args = {**defaults, **args}
    for k, v in args.items():
        if v is REQUIRED:
            raise SpecError(f"schedule `{spec.name}` needs `{k}`", spec.pos)

    def bad(msg):
        raise SpecError(f"schedule `{spec.name}`: {msg}", spec.pos)

    for k in ("every", "s"):
        if k in args and not (_number(args[k]) and args[k] > 0):
            bad(f"{k} must be a number > 0, not {args[k]!r}")
    if spec.name == "step" and int(args["every"]) != args["every"]:
        bad(f"every must be a whole number of {per}s, not {args['every']}")
    if spec.name == "piecewise":
        b, v = args["boundaries"], args["values"]
        if not isinstance(b, (list, tuple)) or not isinstance(v, (list, tuple)):
            bad("boundaries and values must be lists")
        if len(v) != len(b) + 1:
            bad(f"needs one more value than boundaries (got {len(b)} boundaries and {len(v)} values)")
        if any(not _number(x) for x in (*b, *v)):
            bad("boundaries and values must be numbers")
        if any(b2 <= b1 for b1, b2 in zip(b, b[1:])):
            bad(f"boundaries must increase, got {list(b)}")
        if any(x < 0 for x in v):
            bad("values are learning rates and must be >= 0")
        args["boundaries"], args["values"] = list(b), list(v)
    for k in ("gamma", "base", "max_lr", "final_lr", "min_lr", "p"):
        if k in args and not (_number(args[k]) and args[k] >= 0):
            bad(f"{k} must be a number >= 0, not {args[k]!r}")
    return per, args


def base_lr(optimizer: Spec) -> float:
    """lr0: the optimizer's `lr`, or its documented default."""
    lr = optimizer.args.get("lr", OPTIMIZERS.get(optimizer.name, {}).get("lr", REQUIRED))
    if lr is REQUIRED:
        raise SpecError(f"optimizer `{optimizer.name}` needs `lr`", optimizer.pos)
    return float(lr)


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
    per, args = resolve_schedule(train.schedule)
    fn, lr0 = SCHEDULE_TABLE[train.schedule.name], base_lr(train.optimizer)
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
