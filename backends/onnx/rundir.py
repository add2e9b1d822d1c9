"""Reading what training left in a run directory, for export: weights and preprocessing.

The readers are the ones training and evaluation use (specc/checkpoint.py,
specc/rundir.py, specc/data/preprocess.py), so a run is read the same way
everywhere. NumPy and the standard library only (no pickles). Wrong or missing
files are errors naming the file, never tracebacks.
"""
from __future__ import annotations

import os

import numpy as np

from specc.errors import DataError
from specc.ir import Pos, Program


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


def load_preprocess(run_dir: str, program):
    """The run's preprocessing, one Preprocess per input of `program` (preprocess.npz; a step that is
    absent, empty or NaN is off), or None when the run has no such file. The file is checked against
    the inputs: wrong shapes or types are an error naming the file."""
    from specc.data.preprocess import Preprocess, read_saved

    parts = read_saved(run_dir, program.model.inputs)
    return None if parts is None else [Preprocess.from_arrays(p) for p in parts]
