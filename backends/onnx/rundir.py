"""Reading what training left in a run directory: weights, preprocessing, classes.

NumPy and the standard library only (no pickles). Wrong or missing files are
DataErrors naming the file, never tracebacks.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from specc.errors import DataError, SpecError, SpecErrors
from specc.ir import Pos, Program


def _load_npz(path: str) -> dict[str, np.ndarray]:
    from specc.files import regular_data_file
    from specc.limits import check_npy_sizes

    regular_data_file(path, "archive")
    check_npy_sizes(path, DataError)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read {path}: {e}", Pos(path)) from None


def load_weights(path: str, program: Program | None = None) -> dict[str, np.ndarray]:
    """Canonical parameters from a run directory (its weights.npz) or an .npz file.

    With `program`, weights whose record names another model are refused.
    """
    from specc.checkpoint import check_owner, load_weights_record
    from specc.rundir import model_hash

    path = os.path.expanduser(path)
    file = os.path.join(path, "weights.npz") if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise DataError(f"no weights at {file}", Pos(file), "pass a run directory (with weights.npz) to --weights")
    if not file.endswith(".npz"):
        raise DataError(f"{file} is not a weights archive (.npz)", Pos(file),
                        "pass a run directory of `specc train` or its weights.npz")
    params, record = load_weights_record(file)
    if program is not None:
        check_owner(record, model_hash(program), file)
    return params


def load_preprocess(run_dir: str, input_shape=None) -> dict:
    """{"scale": float|None, "mean": array|None, "std": array|None} from preprocess.npz.

    A key that is absent, empty or NaN means that step is off; no file means no preprocessing.
    """
    file = os.path.join(run_dir, "preprocess.npz")
    out = {"scale": None, "mean": None, "std": None}
    if not os.path.exists(file):
        return out
    z = _load_npz(file)
    from specc.data.preprocess import check_saved

    check_saved(z, input_shape, file)  # wrong shapes or types: a DataError naming the file
    for key in out:
        v = z.get(key)
        if v is None or v.size == 0 or (v.size == 1 and np.isnan(v).all()):
            continue
        out[key] = float(v.reshape(())) if key == "scale" else v.astype(np.float32)
    return out


def load_classes(run_dir: str) -> list[str] | None:
    """Class names from classes.json (a JSON list), or None."""
    file = os.path.join(run_dir, "classes.json")
    if not os.path.exists(file):
        return None
    try:
        with open(file, encoding="utf-8") as f:
            classes = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read {file}: {e}", Pos(file)) from None
    if classes is None:
        return None
    if not isinstance(classes, list):
        raise DataError(f"{file} must hold a JSON list of class names", Pos(file))
    return [str(c) for c in classes]


def check_params(program: Program, params: dict[str, np.ndarray], where: str = "weights") -> None:
    """Every parameter the model needs is present with its shape (all problems at once)."""
    errors = []
    for key, layer, p in program.all_params():
        if key not in params:
            errors.append(SpecError(f"{where} lack `{key}` (parameter of layer `{layer.name}`)", layer.pos,
                                    None, program.source_text or None))
        elif tuple(params[key].shape) != tuple(p.shape):
            errors.append(SpecError(
                f"{where}: `{key}` has shape {list(params[key].shape)} but layer `{layer.name}` "
                f"needs {list(p.shape)}", layer.pos, "were these weights trained from another spec?",
                program.source_text or None))
    if errors:
        raise SpecErrors(errors)
