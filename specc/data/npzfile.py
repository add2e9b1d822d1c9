"""NumPy archives (.npz): arrays `x` and `y` under configurable keys, never unpickled."""
from __future__ import annotations

import zipfile

import numpy as np

from ..errors import DataError
from ..ir import Pos
from ..limits import check_npy_sizes
from .types import Raw, shape_str


def _array(f, key: str, path: str) -> np.ndarray:
    try:
        return f[key]
    except ValueError as e:  # numpy refuses object arrays when allow_pickle=False
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise DataError(f"array {key!r} holds Python objects (dtype=object); specc loads no pickles",
                            Pos(path), hint="save numeric (or string label) arrays, e.g. np.savez(path, x=x.astype('float32'), y=y)") from None
        raise DataError(f"cannot read array {key!r}: {e}", Pos(path)) from None
    except (OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read array {key!r}: {e}", Pos(path)) from None


def load_npz(path: str, x="x", y="y", want_target: bool = True) -> Raw:
    """Read x (numeric, [N, ...]) and y (numeric or string labels, [N, ...]).

    `x` / `y` may be lists of keys: one array per model input / output, in order.
    """
    check_npy_sizes(path, DataError)  # declared shapes against the bytes held and the memory available
    xs, ys = ([x] if isinstance(x, str) else list(x)), ([y] if isinstance(y, str) else list(y))
    raw = _load_one(path, xs[0], ys[0], want_target)
    if len(xs) == 1 and len(ys) == 1:
        return raw
    more_x = tuple(_load_one(path, k, None, False).x for k in xs[1:])
    more_y = tuple(_load_one(path, xs[0], k, True).y for k in ys[1:]) if raw.y is not None else ()
    for key, arr in zip([*xs[1:], *ys[1:]], [*more_x, *more_y]):
        if len(arr) != len(raw.x):
            raise DataError(f"array {xs[0]!r} has {len(raw.x)} samples but {key!r} has {len(arr)}", Pos(path))
    raw.more_x, raw.more_y = more_x, more_y
    return raw


def _load_one(path: str, x: str, y: str | None, want_target: bool) -> Raw:
    try:
        f = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"not a readable .npz archive ({e})", Pos(path)) from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise DataError("holds a single .npy array, not an .npz archive of named arrays", Pos(path),
                        hint=f"save with np.savez(path, {x}=..., {y}=...)")
    with f:
        keys = list(f.files)
        if x not in keys:
            raise DataError(f"has no array {x!r}; it holds: {', '.join(keys) or 'nothing'}", Pos(path),
                            hint='name the inputs with npz("...", x="<key>")')
        xa = _array(f, x, path)
        ya = None
        if y is not None and y in keys:
            ya = _array(f, y, path)
        elif want_target:
            raise DataError(f"has no array {y!r}; it holds: {', '.join(keys)}", Pos(path),
                            hint='name the targets with npz("...", y="<key>")')
    if xa.dtype.kind not in "buif":
        raise DataError(f"array {x!r} has dtype {xa.dtype}; inputs must be numeric", Pos(path))
    if xa.ndim == 0 or len(xa) == 0:
        raise DataError(f"array {x!r} has shape {shape_str(xa.shape)}: no samples", Pos(path))
    if ya is not None:
        if ya.dtype.kind == "S":
            ya = ya.astype(str)
        if ya.dtype.kind not in "buifU":
            raise DataError(f"array {y!r} has dtype {ya.dtype}; targets must be numbers or string labels", Pos(path))
        if ya.ndim == 0 or len(ya) != len(xa):
            n = "a scalar" if ya.ndim == 0 else f"{len(ya)} samples"
            raise DataError(f"array {x!r} has {len(xa)} samples but {y!r} has {n}", Pos(path))
    labels = ya is not None and (ya.dtype.kind in "Uiu" or ya.dtype.kind == "b")
    return Raw(x=xa, y=ya, file=path, features=f"samples of shape {shape_str(xa.shape[1:])}", labels=labels)
