"""`npy(dir)`: inputs larger than memory, memory-mapped from `.npy` files and streamed per batch.

Layout of `dir`, per key (`x="x"`, `y="y"`, or lists of keys for several inputs/outputs):

    dir/x.npy            one array [N, ...], or
    dir/x/*.npy          shards [n_k, ...] read in name order as one array (same dtype and sample shape)

Inputs are opened with np.load(mmap_mode="r", allow_pickle=False) and never read whole:
load.py wraps each split in a data.stream.StreamedArray that gathers a batch per step.
Targets (one label or value per sample) are read into memory. Every problem names
the file: not an .npy file, pickled objects, a truncated file, a shard whose dtype or
sample shape differs from the first, a NaN/inf input (file and row).
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import DataError
from ..ir import Pos
from .finite import first_nonfinite
from .stream import Shards
from .types import Raw, shape_str


def load_npy(directory: str, x="x", y="y", want_target: bool = True) -> Raw:
    """A Raw whose x (and more_x) are memory-mapped (np.memmap or Shards); targets in memory."""
    xs, ys = ([x] if isinstance(x, str) else list(x)), ([y] if isinstance(y, str) else list(y))
    inputs = [_open(directory, k, required=True) for k in xs]
    targets = [_open(directory, k, required=want_target) for k in ys]
    if not want_target or targets[0] is None:
        targets = []
    n = len(inputs[0])
    for key, arr in zip([*xs, *ys], [*inputs, *targets]):
        if len(arr) != n:
            raise DataError(f"input {xs[0]!r} has {n} samples but {key!r} has {len(arr)}", Pos(directory))
    for key, arr in zip(xs, inputs):
        if arr.dtype.kind not in "buif":
            raise DataError(f"{key!r} has dtype {arr.dtype}; inputs must be numeric", Pos(_file_of(arr, 0)))
        _check_finite(arr, "input")
    ys_mem = [_in_memory(arr, key) for key, arr in zip(ys, targets)]
    y0 = ys_mem[0] if ys_mem else None
    labels = y0 is not None and y0.dtype.kind in "Uiub"
    return Raw(x=inputs[0], y=y0, file=directory, features=f"samples of shape {shape_str(inputs[0].shape[1:])}",
               labels=labels, more_x=tuple(inputs[1:]), more_y=tuple(ys_mem[1:]), streamed=True)


def _open(directory: str, key: str, required: bool):
    """The array stored under `key`: dir/key.npy memory-mapped, or the shards in dir/key/ (None if absent)."""
    single, folder = os.path.join(directory, key + ".npy"), os.path.join(directory, key)
    if os.path.isfile(single) and os.path.isdir(folder):
        raise DataError(f"both {key}.npy and a folder {key}/ are here; keep one", Pos(directory))
    if os.path.isfile(single):
        return _mmap(single)
    if os.path.isdir(folder):
        files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".npy"))
        if not files:
            raise DataError(f"the folder {key}/ holds no .npy files", Pos(folder))
        parts = [_mmap(f) for f in files]
        first = parts[0]
        for f, p in zip(files[1:], parts[1:]):
            if p.dtype != first.dtype or p.shape[1:] != first.shape[1:]:
                raise DataError(f"shard holds {p.dtype} samples of shape {shape_str(p.shape[1:])}, but "
                                f"{os.path.basename(files[0])} holds {first.dtype} of shape "
                                f"{shape_str(first.shape[1:])}", Pos(f),
                                hint="every shard of one array has the same dtype and sample shape")
        return parts[0] if len(parts) == 1 else Shards(parts, files)
    if not required:
        return None
    held = sorted(f for f in os.listdir(directory) if f.endswith(".npy") or os.path.isdir(os.path.join(directory, f)))
    raise DataError(f"has no {key}.npy and no folder {key}/; it holds: {', '.join(held) or 'nothing'}",
                    Pos(directory), hint=f'name the array with npy("...", {"x" if key == "x" else "y"}="<name>")')


def _mmap(path: str) -> np.ndarray:
    """An .npy file memory-mapped read-only; the errors numpy raises become DataErrors naming it."""
    from ..limits import check_npy_sizes

    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise DataError("not a readable .npy file (no .npy header)", Pos(path),
                            hint="write it with np.save(path, array)")
    check_npy_sizes(path, DataError, memory=False)  # a truncated or forged header, before numpy maps it
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "object" in str(e).lower() or "pickle" in str(e).lower():
            raise DataError("holds Python objects (dtype=object); specc loads no pickles", Pos(path),
                            hint="save numeric (or string label) arrays, e.g. np.save(path, x.astype('float32'))") \
                from None
        raise DataError(f"not a readable .npy file ({e})", Pos(path)) from None
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read this .npy file ({e})", Pos(path)) from None
    if not isinstance(arr, np.ndarray):
        raise DataError("is not a single .npy array", Pos(path))
    if arr.ndim == 0 or len(arr) == 0:
        raise DataError(f"has shape {shape_str(arr.shape)}: no samples", Pos(path))
    return arr


def _file_of(arr, row: int) -> str:
    if isinstance(arr, Shards):
        return arr.where(row)[0]
    return getattr(arr, "filename", None) or "?"


def _check_finite(arr, what: str) -> None:
    """NaN/inf (or beyond float32) in an input: the shard file and its row, read one shard at a time."""
    parts = arr.parts if isinstance(arr, Shards) else [arr]
    for part in parts:
        found = first_nonfinite(part)
        if found is not None:
            row, col, value = found
            raise DataError(f"{what} at row {row}, feature {col} is {value:g}; training needs finite numbers",
                            Pos(_file_of(part, row)), hint="remove or fill the row (specc reads no NaN/inf)")


def _in_memory(arr, key: str) -> np.ndarray:
    """Targets are small (one label or value per sample): read them whole."""
    y = arr[:] if isinstance(arr, Shards) else np.array(arr)
    if y.dtype.kind == "S":
        y = y.astype(str)
    if y.dtype.kind not in "buifU":
        raise DataError(f"{key!r} has dtype {y.dtype}; targets must be numbers or string labels",
                        Pos(_file_of(arr, 0)))
    for part in (arr.parts if isinstance(arr, Shards) else [arr]):
        if part.dtype.kind in "f":
            found = first_nonfinite(part)
            if found is not None:
                raise DataError(f"target at row {found[0]} is {found[2]:g}; training needs finite numbers",
                                Pos(_file_of(part, found[0])))
    return y
