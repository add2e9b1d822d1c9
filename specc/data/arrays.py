"""Arrays from Python as a data source: `specc.compile(spec).train(x=..., y=..., val=(x, y))`.

NumPy arrays, nested lists, or pandas DataFrames / Series (read through
`.to_numpy()`, so pandas is never imported here). Each becomes a `Raw`, and
the rest is the file pipeline: targets (labels -> classes), the model-shape
check, float32 conversion, preprocessing fitted on the training arrays,
augmentation. The data block is optional; when the spec has one, its
sources are not read (the front end still checks them) and its other keys
(scale, standardize, classes, target, augment, shuffle) apply.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError
from .types import Raw

ROLES = ("train", "val", "test")


def to_raw(x, y, role: str) -> Raw:
    """One (x, y) pair as a Raw; y may be None (autoencoders). Errors name the argument."""
    name = "x" if role == "train" else f"{role}=(x, y)"
    xs = _numeric(x, f"{name}: x")
    if xs.ndim == 0:
        raise DataError(f"{name}: x must hold samples along its first axis, got a single number")
    if xs.ndim == 1:
        xs = xs[:, None]
    bad = np.flatnonzero(~np.isfinite(xs.reshape(len(xs), -1)).all(axis=1))
    if len(bad):
        raise DataError(f"{name}: sample {bad[0]} of x holds a value that is not a finite number")
    ys = None
    labels = False
    if y is not None:
        ys = _values(y)
        if len(ys) != len(xs):
            raise DataError(f"{name}: x has {len(xs)} samples but y has {len(ys)}")
        labels = ys.dtype.kind == "U"
    columns = getattr(x, "columns", None)
    features = (f"{len(columns)} feature column{'s' if len(columns) != 1 else ''}" if columns is not None
                else f"samples of shape [{', '.join(str(d) for d in xs.shape[1:])}]")
    return Raw(x=xs, y=ys, file="x" if role in ("train", "evaluate") else f"{role} x", features=features,
               labels=labels)


def raws_from(x, y=None, val=None, test=None) -> dict[str, Raw]:
    """{"train": Raw, "val": Raw, "test": Raw} from train's keyword arguments."""
    out = {"train": to_raw(x, y, "train")}
    for role, pair in (("val", val), ("test", test)):
        if pair is None:
            continue
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise DataError(f"{role}= takes a pair (x, y), got {type(pair).__name__}")
        out[role] = to_raw(pair[0], pair[1], role)
    return out


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
