"""The Python API: compile a spec, train it, load a trained run, predict.

    import specc
    net = specc.compile("examples/xor.nn")       # a path, or the spec text itself
    model = net.train(backend="numpy", out="runs/xor")
    model.predict([[0, 1]])
    model = specc.load("runs/xor")                 # later, in another process

`predict` takes raw inputs (as in the data files) and applies the run's saved
preprocessing (scale / standardization) before the NumPy forward pass.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import rundir
from .ir import Program


def _looks_like_path(source: str) -> bool:
    return "\n" not in source and "{" not in source


class Compiled:
    """A compiled spec, ready to train."""

    def __init__(self, program: Program, overrides=()):
        self.program = program
        self.overrides = tuple(overrides)

    def __repr__(self) -> str:
        return f"<specc.Compiled model {self.program.model.name!r} from {self.program.path}>"

    def train(self, backend: str = "numpy", *, out=None, resume=None, quiet: bool = True, **options) -> "TrainedModel":
        """Train and return the trained model. Extra keyword arguments go to the backend (device=, amp=, ...)."""
        from .driver import Trainer

        result = Trainer(self.program, backend=backend, out=out, resume=resume, quiet=quiet, options=options,
                         overrides=self.overrides).run()
        return TrainedModel(self.program, result.params, result.run_dir, _preprocess_of(result.run_dir),
                            result.classes, result)


class TrainedModel:
    """Trained weights with their spec and preprocessing; `predict` runs the NumPy backend."""

    def __init__(self, program: Program, params: dict, run_dir=None, preprocess=None, classes=None, result=None):
        self.program, self.params, self.run_dir = program, params, run_dir
        self.preprocess, self.classes, self.result = preprocess or {}, classes, result
        self._backend = None

    def __repr__(self) -> str:
        return f"<specc.TrainedModel {self.program.model.name!r} run_dir={str(self.run_dir)!r}>"

    @property
    def history(self) -> list[dict]:
        return self.result.history if self.result is not None else _read_history(self.run_dir)

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """Model outputs for raw inputs x [N, *input_shape] (or one sample [*input_shape])."""
        from .data.preprocess import Preprocess
        from .driver import backend_class

        x = np.asarray(x, dtype=np.float32)
        shape = tuple(self.program.model.input_shape)
        single = x.shape == shape
        if single:
            x = x[None]
        if tuple(x.shape[1:]) != shape:
            from .errors import SpecError

            raise SpecError(f"predict expects inputs of shape [N, {', '.join(map(str, shape))}], "
                            f"got {list(x.shape)}")
        if self._backend is None:
            seed = self.program.train.seed if self.program.train else 0
            self._backend = backend_class("numpy")(self.program, self.params, seed=seed)
        out = self._backend.predict(Preprocess.from_arrays(self.preprocess).apply(x), batch_size)
        return out[0] if single else out


def _preprocess_of(run_dir) -> dict:
    from .checkpoint import load_npz

    path = Path(run_dir) / rundir.PREPROCESS
    return load_npz(path) if path.exists() else {}


def _read_history(run_dir) -> list[dict]:
    import json

    path = Path(run_dir) / rundir.METRICS_JSONL if run_dir else None
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def compile(source: str | Path, overrides=()) -> Compiled:  # noqa: A001 - the public name is specc.compile
    """Compile a spec from a file path or from its text; `overrides` as for --set ("train.epochs=5")."""
    from . import frontend

    overrides = tuple(overrides)
    if isinstance(source, Path) or _looks_like_path(source):
        return Compiled(frontend.compile_file(str(source), overrides=overrides), overrides)
    return Compiled(frontend.compile_text(source, overrides=overrides), overrides)


def load(run_dir) -> TrainedModel:
    """A trained model from a run directory (spec.nn + weights.npz + preprocess.npz)."""
    from . import frontend
    from .checkpoint import check_weights, load_weights
    from .init import initial_params

    run_dir = rundir.require_run_dir(run_dir)
    rundir.read_manifest(run_dir)  # a clear error for a directory that is not a finished run
    spec_path = run_dir / rundir.SPEC
    # spec.nn is the printed, resolved program: overrides are already in it
    program = frontend.compile_text(spec_path.read_text(encoding="utf-8"), path=str(spec_path))
    weights_path = run_dir / rundir.WEIGHTS
    params = load_weights(weights_path)
    check_weights(params, initial_params(program), weights_path)
    return TrainedModel(program, params, run_dir, _preprocess_of(run_dir), rundir.read_classes(run_dir))
