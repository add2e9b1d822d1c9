"""NumPy archives (.npz): arrays `x` and `y` under configurable keys, never unpickled."""
from __future__ import annotations

import zipfile

import numpy as np

from ..errors import DataError
from ..ir import Pos
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


def load_npz(path: str, x: str = "x", y: str = "y", want_target: bool = True) -> Raw:
    """Read x (numeric, [N, ...]) and y (numeric or string labels, [N, ...])."""
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
                            hint=f'name the inputs with npz("...", x="<key>")')
        xa = _array(f, x, path)
        ya = None
        if y in keys:
            ya = _array(f, y, path)
        elif want_target:
            raise DataError(f"has no array {y!r}; it holds: {', '.join(keys)}", Pos(path),
                            hint=f'name the targets with npz("...", y="<key>")')
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
