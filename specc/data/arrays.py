"""Arrays from Python as a data source: `specc.compile(spec).train(x=..., y=..., val=(x, y))`.

NumPy arrays, nested lists, or pandas DataFrames / Series (read through
`.to_numpy()`, so pandas is never imported here). Each becomes a `Raw`, and
the rest is the file pipeline: targets (labels -> classes), the model-shape
check, float32 conversion, preprocessing fitted on the training arrays,
augmentation. The data block is optional; when the spec has one, its
sources are not read (the front end still checks them) and its other keys
(scale, standardize, classes, target, augment, shuffle) apply.

A model with several inputs takes x as a list (in `input` order) or a dict by input
name, and one with several outputs takes y the same way (by `output` name), as
Keras' `fit` does.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError
from .types import Raw

ROLES = ("train", "val", "test")


def to_raw(x, y, role: str, inputs=("x",), outputs=("output",)) -> Raw:
    """One (x, y) pair as a Raw; y may be None (autoencoders). Errors name the argument.

    `inputs` / `outputs`: the model's input and output names; with several, x / y hold one
    array each (a list in order, or a dict by name)."""
    name = "x" if role in ("train", "evaluate") else f"{role}=(x, y)"
    arrays = _per_name(x, inputs, "x" if name == "x" else f"{name}: x", "input")
    xs = [_samples(a, name, "x" if len(arrays) == 1 else f"x[{n!r}]") for a, n in zip(arrays, inputs)]
    ys, labels = [], False
    if y is not None:
        ys = [_values(t) for t in _per_name(y, outputs, "y" if name == "x" else f"{name}: y", "output")]
        labels = ys[0].dtype.kind == "U"
    others = [(f"x[{n!r}]", a) for n, a in zip(inputs[1:], xs[1:])]
    others += [("y" if len(ys) == 1 else f"y[{n!r}]", a) for n, a in zip(outputs, ys)]
    for label, a in others:
        if len(a) != len(xs[0]):
            raise DataError(f"{name}: x has {len(xs[0])} samples but {label} has {len(a)}")
    columns = getattr(x, "columns", None)
    features = (f"{len(columns)} feature column{'s' if len(columns) != 1 else ''}" if columns is not None
                else f"samples of shape [{', '.join(str(d) for d in xs[0].shape[1:])}]")
    return Raw(x=xs[0], y=ys[0] if ys else None, file="x" if role in ("train", "evaluate") else f"{role} x",
               features=features, labels=labels, more_x=tuple(xs[1:]), more_y=tuple(ys[1:]))


def raws_from(x, y=None, val=None, test=None, inputs=("x",), outputs=("output",)) -> dict[str, Raw]:
    """{"train": Raw, "val": Raw, "test": Raw} from train's keyword arguments."""
    out = {"train": to_raw(x, y, "train", inputs, outputs)}
    for role, pair in (("val", val), ("test", test)):
        if pair is None:
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DataError(f"{role}= takes a pair (x, y), got {type(pair).__name__}")
        out[role] = to_raw(pair[0], pair[1], role, inputs, outputs)
    return out


def _per_name(v, names, what: str, kind: str) -> list:
    """One array per name: v itself for one name; a list/tuple in order or a dict by name for several."""
    if len(names) == 1:
        return [v]
    listed = ", ".join(names)
    if isinstance(v, dict):
        unknown = [k for k in v if k not in names]
        missing = [n for n in names if n not in v]
        if unknown or missing:
            raise DataError(f"{what}: the model's {kind}s are {listed}; "
                            + (f"got no {kind} {', '.join(map(repr, unknown))}" if unknown
                               else f"{', '.join(map(repr, missing))} missing"))
        return [v[n] for n in names]
    if isinstance(v, (list, tuple)) and len(v) == len(names):
        return list(v)
    got = f"a {type(v).__name__} of {len(v)}" if isinstance(v, (list, tuple)) else f"one {type(v).__name__}"
    raise DataError(f"{what}: the model has {len(names)} {kind}s ({listed}); give one array each, "
                    f"as a list in order or a dict by name, not {got}")


def _samples(v, name: str, label: str) -> np.ndarray:
    """An input as a numeric array of samples (a vector of numbers is one feature per sample), all finite."""
    xs = _numeric(v, f"{name}: {label}")
    if xs.ndim == 0:
        raise DataError(f"{name}: {label} must hold samples along its first axis, got a single number")
    if xs.ndim == 1:
        xs = xs[:, None]
    bad = np.flatnonzero(~np.isfinite(xs.reshape(len(xs), -1)).all(axis=1))
    if len(bad):
        raise DataError(f"{name}: sample {bad[0]} of {label} holds a value that is not a finite number")
    return xs


def _numeric(v, what: str) -> np.ndarray:
    a = v.to_numpy() if hasattr(v, "to_numpy") else np.asarray(v)
    if a.dtype.kind not in "biuf":
        kinds = {"O": "objects (text?)", "U": "text", "S": "bytes", "M": "dates"}
        raise DataError(f"{what} must be numeric, got {kinds.get(a.dtype.kind, a.dtype)}",
                        hint="only y may hold labels; convert or drop the other columns")
    return a


def _values(v) -> np.ndarray:
    """y as numbers, or as label strings when it holds text (pandas object/category columns too)."""
    a = v.to_numpy() if hasattr(v, "to_numpy") else np.asarray(v)
    if a.dtype.kind in "OUS":
        return a.astype(str)
    if a.dtype.kind not in "biuf":
        raise DataError(f"y must hold numbers or labels, got {a.dtype}")
    return a
