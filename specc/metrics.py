"""Metrics on NumPy model outputs and targets (any backend's outputs, after `evaluate`).

outputs: [N, *output_shape] as the model produces them (probabilities when the
model ends in softmax/sigmoid). targets: int class indices [N] (or [N, ...] for
per-position classes), or float vectors of the output's shape (one-hot,
probabilities, regression values). Each metric is a small function in
`METRIC_TABLE`; `compute_metrics` names the results ("accuracy", "top_5", ...).
All results are Python floats, accumulated in float64; an empty split gives nan.
"""
from __future__ import annotations

import numpy as np

from .errors import SpecError
from .ir import Spec


def _is_binary(outputs: np.ndarray) -> bool:
    """A single output unit per example ([N] or [N, 1]): a sigmoid / step classifier."""
    return outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1)


def _class_targets(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Targets as class indices: int targets as they are, vectors by argmax over the class axis."""
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.integer) or targets.ndim == outputs.ndim - 1:
        return targets.astype(np.int64)
    return targets.argmax(axis=1)


def accuracy(outputs, targets) -> float:
    """Fraction of examples whose predicted class is the target class.

    Several outputs: the prediction is the argmax over axis 1. A single output
    (sigmoid): the prediction is output > 0.5, the target y > 0.5 (so 0/1
    indices and float labels both work).
    """
    outputs = np.asarray(outputs)
    if _is_binary(outputs):
        pred = outputs.reshape(len(outputs)) > 0.5
        true = np.asarray(targets).reshape(len(outputs)) > 0.5
    else:
        pred = outputs.argmax(axis=1)
        true = _class_targets(outputs, targets)
    return float(np.mean(pred == true)) if pred.size else float("nan")


def top_k(outputs, targets, k) -> float:
    """Fraction of examples whose target class is among the k highest outputs.

    Counted as "fewer than k classes score strictly higher than the target", so
    ties are resolved in the target's favour (deterministic, unlike a sort).
    """
    outputs = np.asarray(outputs)
    if outputs.ndim != 2:
        raise SpecError(f"top_k needs outputs [N, classes], the model gives {list(outputs.shape[1:])}")
    true = _class_targets(outputs, targets)
    score = np.take_along_axis(outputs, true[:, None], axis=1)
    higher = (outputs > score).sum(axis=1)
    return float(np.mean(higher < int(k))) if len(true) else float("nan")


def _as_output_shape(outputs: np.ndarray, targets) -> np.ndarray:
    """Targets in the outputs' shape: class indices become one-hot vectors."""
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.integer) and targets.ndim == 1 and outputs.ndim == 2 and outputs.shape[1] > 1:
        onehot = np.zeros(outputs.shape, dtype=np.float64)
        onehot[np.arange(len(targets)), targets] = 1.0
        return onehot
    return targets.reshape(outputs.shape).astype(np.float64)


def mse(outputs, targets) -> float:
    """Mean of (output - target)^2 over examples and output elements (class indices as one-hot)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    diff = outputs - _as_output_shape(outputs, targets)
    return float(np.mean(diff * diff)) if diff.size else float("nan")


def mae(outputs, targets) -> float:
    """Mean of |output - target| over examples and output elements (class indices as one-hot)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    diff = outputs - _as_output_shape(outputs, targets)
    return float(np.mean(np.abs(diff))) if diff.size else float("nan")


METRIC_TABLE = {f.__name__: f for f in (accuracy, top_k, mse, mae)}


def metric_name(spec: Spec) -> str:
    """The stable column name of a metric: "accuracy", "top_5", "mse", "mae"."""
    return f"top_{spec.args['k']}" if spec.name == "top_k" else spec.name


def compute_metrics(metrics, outputs, targets) -> dict[str, float]:
    """{metric name: value} for every metric spec, in order."""
    # arguments as the front end checked and filled them (specc/ops/catalog.py)
    return {metric_name(spec): METRIC_TABLE[spec.name](outputs, targets, **spec.args) for spec in metrics}
