"""`cross_entropy(weights=balanced)`: per-class weights computed from the training split.

The front end keeps `balanced` as written (the spec hash does not depend on the
data); the driver calls `resolve_balanced` once the training split is loaded and
hands the backend a program whose loss carries the numbers, so backends only
ever see a list of weights. The rule is scikit-learn's
`compute_class_weight("balanced")`: n / (classes * count_c).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .errors import DataError
from .ir import Pos, Program


def balanced_weights(targets: np.ndarray, n_classes: int, pos: Pos | None = None) -> list[float]:
    """n / (n_classes * count_c) for class-index or one-hot/probability targets [N, classes]."""
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.integer):
        counts = np.bincount(targets.reshape(-1), minlength=n_classes).astype(np.float64)
    else:
        counts = np.bincount(targets.reshape(len(targets), -1).argmax(axis=1), minlength=n_classes).astype(np.float64)
    missing = [c for c in range(n_classes) if counts[c] == 0]
    if missing:
        raise DataError(f"`weights=balanced`: class{'es' if len(missing) > 1 else ''} "
                        f"{', '.join(map(str, missing))} never occur{'s' if len(missing) == 1 else ''} in the "
                        "training split, so their weight would be infinite", pos,
                        hint="give the weights as a list, e.g. `weights=[1, 5, 1]`")
    return [float(v) for v in counts.sum() / (n_classes * counts)]


def resolve_balanced(program: Program, train_targets) -> Program:
    """The program with every `weights=balanced` replaced by the training split's weights."""
    train = program.train
    if train is None or not any(ol.loss.args.get("weights") == "balanced" for ol in train.losses):
        return program
    if not train_targets:
        raise DataError("`weights=balanced` needs class targets in the training split", Pos(file=program.path))
    losses = []
    for out, ol, y in zip(program.model.outputs, train.losses, train_targets):
        if ol.loss.args.get("weights") == "balanced":
            n_classes = int(program.model.value_shape(out.value)[0])
            args = {**ol.loss.args, "weights": balanced_weights(y, n_classes, ol.loss.pos)}
            ol = dataclasses.replace(ol, loss=dataclasses.replace(ol.loss, args=args))
        losses.append(ol)
    return dataclasses.replace(program, train=dataclasses.replace(train, losses=tuple(losses)))


def without_balanced(program: Program) -> Program:
    """`weights=balanced` as all-ones weights, for checks with no training split (`specc verify`
    compares the backends with each other on a seeded batch, so any fixed weights will do)."""
    train = program.train
    if train is None or not any(ol.loss.args.get("weights") == "balanced" for ol in train.losses):
        return program
    counts = {}
    for out, ol in zip(program.model.outputs, train.losses):
        counts[ol.output] = int(program.model.value_shape(out.value)[0])
    y = [np.arange(counts[ol.output]) for ol in train.losses]
    return resolve_balanced(program, y)
