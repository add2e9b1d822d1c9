"""Metrics on NumPy model outputs and targets (any backend's outputs, after `evaluate`).

outputs: [N, *output_shape] as the model produces them (probabilities when the
model ends in softmax/sigmoid). targets: int class indices [N] (or [N, T] for
per-position classes of a sequence output [N, T, C]: the positions count as the
examples, padding positions, marked -1, are left out), or float vectors of the
output's shape (one-hot, probabilities, regression values). Each metric is a small function in
`METRIC_TABLE`; `compute_metrics` names the results ("accuracy", "top_5", ...).
All results are Python floats, accumulated in float64; an empty split gives nan.
"""
from __future__ import annotations

import numpy as np

from .errors import SpecError
from .ops.catalog import metric_name


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


# ---- classification scores (scikit-learn's definitions) ------------------------------------

def predicted_classes(outputs, targets) -> tuple[np.ndarray, np.ndarray, int]:
    """(true, predicted, number of classes) as class indices.

    A single output unit (sigmoid) is a binary classifier: output > 0.5 and
    target > 0.5 are class 1, so there are two classes.
    """
    outputs = np.asarray(outputs)
    if _is_binary(outputs):
        n = len(outputs)
        return ((np.asarray(targets).reshape(n) > 0.5).astype(np.int64),
                (outputs.reshape(n) > 0.5).astype(np.int64), 2)
    return _class_targets(outputs, targets), outputs.argmax(axis=1), outputs.shape[1]


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """int64 [classes, classes]: row = true class, column = predicted class (scikit-learn's layout)."""
    return np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b with 0 where b == 0 (scikit-learn's zero_division=0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def _per_class(name: str, outputs, targets) -> tuple[np.ndarray, np.ndarray, bool]:
    """(score of every class, mask of the classes counted in the macro mean, binary?)."""
    true, pred, n = predicted_classes(outputs, targets)
    cm = confusion_matrix(true, pred, n)
    tp, predicted, actual = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
    precision, recall = _divide(tp, predicted), _divide(tp, actual)
    score = {"precision": precision, "recall": recall,
             "f1": _divide(2 * tp, predicted + actual)}[name]
    return score, (predicted + actual) > 0, n == 2 and _is_binary(np.asarray(outputs))


def _classification(name: str, outputs, targets, per_class: bool):
    """Binary (one sigmoid unit): the score of class 1 (average="binary"). Several classes: the
    macro mean over the classes that occur in the targets or the predictions (average="macro").
    per_class adds `<name>_<c>` for every class c (average=None, labels=range(classes))."""
    if len(outputs) == 0:
        return float("nan")
    score, present, binary = _per_class(name, outputs, targets)
    main = float(score[1]) if binary else float(score[present].mean()) if present.any() else 0.0
    if not per_class:
        return main
    return {name: main, **{f"{name}_{c}": float(v) for c, v in enumerate(score)}}


def precision(outputs, targets, per_class=False):
    """tp / (tp + fp): of the examples predicted as a class, the fraction that are."""
    return _classification("precision", outputs, targets, per_class)


def recall(outputs, targets, per_class=False):
    """tp / (tp + fn): of the examples of a class, the fraction found."""
    return _classification("recall", outputs, targets, per_class)


def f1(outputs, targets, per_class=False):
    """2 tp / (2 tp + fp + fn): the harmonic mean of precision and recall."""
    return _classification("f1", outputs, targets, per_class)


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(xs)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def _binary_auc(score: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) form; equals the trapezoidal ROC area, ties included."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")  # undefined with one class (scikit-learn raises)
    r = _ranks(np.asarray(score, dtype=np.float64))
    return float((r[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def auc(outputs, targets) -> float:
    """Area under the ROC curve: binary for one sigmoid unit, else the one-vs-rest macro mean
    over classes (scikit-learn's roc_auc_score(multi_class="ovr")). nan if a class is missing."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if len(outputs) == 0:
        return float("nan")
    if _is_binary(outputs):
        n = len(outputs)
        return _binary_auc(outputs.reshape(n), np.asarray(targets).reshape(n) > 0.5)
    true = _class_targets(outputs, targets)
    return float(np.mean([_binary_auc(outputs[:, c], true == c) for c in range(outputs.shape[1])]))


def r2(outputs, targets) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot per output column, averaged over the
    columns (scikit-learn's r2_score; a constant target column scores 1 if fitted exactly, else 0)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if len(outputs) == 0:
        return float("nan")
    o = outputs.reshape(len(outputs), -1)
    t = _as_output_shape(outputs, targets).reshape(o.shape)
    ss_res = ((t - o) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    per = np.where(ss_tot > 0, 1.0 - _divide(ss_res, ss_tot), np.where(ss_res == 0, 1.0, 0.0))
    return float(per.mean())


def perplexity(outputs, targets) -> float:
    """exp(mean cross-entropy) of class-index targets: exp(-mean log p[target]).

    outputs are probabilities (softmax) or log-probabilities (log_softmax: every value <= 0,
    which a softmax output never is, its values summing to 1).
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if len(outputs) == 0:
        return float("nan")
    true = _class_targets(outputs, targets)
    picked = np.take_along_axis(outputs, true[:, None], axis=1)[:, 0]
    logp = picked if (outputs <= 0).all() else np.log(np.maximum(picked, np.finfo(np.float64).tiny))
    return float(np.exp(-logp.mean()))


METRIC_TABLE = {f.__name__: f for f in (accuracy, top_k, mse, mae, precision, recall, f1, auc, r2, perplexity)}


def _positions(outputs, targets, mask=None):
    """Per-position targets of a sequence output [N, T, C]: the positions become the examples, and
    padding positions are left out: class targets [N, T] mark them -1 (specc/masks.py), probability
    targets [N, T, C] are left out where `mask` ([N, T], True = a real token) is False."""
    outputs, targets = np.asarray(outputs), np.asarray(targets)
    if outputs.ndim == 3 and targets.ndim == 2 and np.issubdtype(targets.dtype, np.integer):
        flat_t = targets.reshape(-1)
        keep = flat_t >= 0
        return outputs.reshape(-1, outputs.shape[-1])[keep], flat_t[keep]
    if outputs.ndim == 3 and targets.shape == outputs.shape:  # probabilities [N, T, C]
        flat_o, flat_t = outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1, targets.shape[-1])
        if mask is None:
            return flat_o, flat_t
        keep = np.asarray(mask, bool).reshape(-1)
        return flat_o[keep], flat_t[keep]
    return outputs, targets


def compute_metrics(metrics, outputs, targets, mask=None) -> dict[str, float]:
    """{metric name: value} for every metric spec, in order; `mask`: a sequence output's padding mask."""
    # arguments as the front end checked and filled them (specc/ops/catalog.py)
    out: dict[str, float] = {}
    outputs, targets = _positions(outputs, targets, mask)
    for spec in metrics:
        value = METRIC_TABLE[spec.name](outputs, targets, **spec.args)
        out.update(value if isinstance(value, dict) else {metric_name(spec): value})  # per_class: several columns
    return out
