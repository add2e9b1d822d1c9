"""Early stopping: whether an epoch improved on the best, and when to give up.

What may be monitored is checked once, by the front end (passes/sections.py); the one
thing it cannot see is a validation split that arrives as arrays through the Python API.
"""
from __future__ import annotations

from .errors import SpecError
from .ir import TrainSpec
from .trainstate import TrainState


def monitor_mode(monitor: str) -> str:
    """'min' for losses and errors, 'max' for accuracies."""
    return "min" if monitor.endswith(("loss", "mse", "mae", "perplexity")) else "max"


def check_has_val(train: TrainSpec, has_val: bool) -> None:
    """A val_* monitor needs a validation split (data given as arrays skips the front end's check)."""
    es = train.early_stop
    if es is not None and es.monitor.startswith("val_") and not has_val:
        raise SpecError(f"early stopping monitors `{es.monitor}` but the data has no validation split", es.pos,
                        hint="add `val = 0.1` (or a val fraction in `split`) to `data`, or pass val arrays")


def observe(train: TrainSpec, state: TrainState, value: float) -> bool:
    """Record an epoch's monitored value; True when it is the best so far (keep these weights).

    Sets state.done (and stopped_early) once `patience` epochs in a row did not improve.
    """
    es = train.early_stop
    if monitor_mode(es.monitor) == "min":
        improved = state.best_value is None or value < state.best_value - es.min_delta
    else:
        improved = state.best_value is None or value > state.best_value + es.min_delta
    if improved:
        state.best_value, state.bad_epochs = float(value), 0
        return True
    state.bad_epochs += 1
    if state.bad_epochs >= es.patience:
        state.stopped_early = state.done = True
    return False
