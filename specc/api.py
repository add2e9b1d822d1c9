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

    def train(self, backend: str = "numpy", *, out=None, resume=None, quiet: bool = True,
              x=None, y=None, val=None, test=None, **options) -> "TrainedModel":
        """Train and return the trained model. Extra keyword arguments go to the backend (device=, amp=, ...);
        one the backend does not take is an error.

        `x`, `y` (NumPy arrays or pandas DataFrames/Series), `val=(x, y)`, `test=(x, y)` train on arrays
        instead of the data block's sources (see specc/data/arrays.py)."""
        from .driver import Trainer

        check_backend_options(backend, options)
        data = array_datasets(self.program, x, y, val, test)
        result = Trainer(self.program, backend=backend, out=out, resume=resume, quiet=quiet, options=options,
                         overrides=self.overrides, data=data).run()
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

    @property
    def spec(self) -> str:
        """The normalized spec the run was trained from (spec.nn: overrides applied)."""
        from .printer import format_program

        return format_program(self.program)

    @property
    def weights(self) -> dict[str, np.ndarray]:
        """The trained parameters as NumPy arrays, canonical names (`dense_1.weight` is [out, in])."""
        return self.params

    @property
    def metrics(self):
        """One row per epoch (metrics.jsonl): a pandas DataFrame when pandas is installed, else a list of dicts."""
        rows = self.history
        try:
            import pandas
        except ImportError:
            return rows
        return pandas.DataFrame(rows)

    def to_torch(self):
        """A torch.nn.Module of the model with these weights loaded (eval mode; outputs as in the spec)."""
        from .backend_lookup import backend_class

        backend_class("torch")  # a clear error when PyTorch is missing
        from .backends.torch import build_model  # the package's public face (backends/torch/__init__.py)

        return build_model(self.program, self.params).eval()

    def export(self, path) -> Path:
        """Write the model, with the run's preprocessing and class names, to an ONNX file; returns the path."""
        import onnx

        from .backends.onnx import rundir as onnx_rundir
        from .backends.onnx.export import build_model, save

        preprocess = onnx_rundir.load_preprocess(str(self.run_dir), self.program) if self.run_dir is not None else None
        model = build_model(self.program, self.params, preprocess=preprocess,
                            classes=list(self.classes) if self.classes else None)
        onnx.checker.check_model(model, full_check=True)
        save(model, str(path))
        return Path(path)

    def predict(self, x, batch_size: int = 1024):
        """Model outputs for raw inputs x [N, *input_shape] (or one sample [*input_shape]).

        A model with several inputs takes a list (in `input` order) or a dict by input name; one
        with several outputs returns a list of arrays (as Keras), one output a bare array.
        """
        from .data.preprocess import Preprocess, input_arrays
        from .backend_lookup import backend_class
        from .errors import SpecError

        inputs = self.program.model.inputs
        if isinstance(x, dict):
            unknown = [k for k in x if k not in {i.name for i in inputs}]
            if unknown or len(x) != len(inputs):
                raise SpecError(f"predict takes one array per input ({', '.join(i.name for i in inputs)}), "
                                f"got {', '.join(map(str, x))}")
            x = [x[i.name] for i in inputs]
        xs = list(x) if len(inputs) > 1 else [x]
        if len(xs) != len(inputs):
            raise SpecError(f"the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                            f"predict got {len(xs)} arrays")
        xs = [np.asarray(a, dtype=np.float32) for a in xs]
        single = all(a.shape == tuple(i.shape) for a, i in zip(xs, inputs))
        if single:
            xs = [a[None] for a in xs]
        for a, i in zip(xs, inputs):
            if tuple(a.shape[1:]) != tuple(i.shape):
                raise SpecError(f"predict expects input `{i.name}` of shape [N, {', '.join(map(str, i.shape))}], "
                                f"got {list(a.shape)}")
        if self._backend is None:
            seed = self.program.train.seed if self.program.train else 0
            self._backend = backend_class("numpy")(self.program, self.params, seed=seed)
        for k, arrays in enumerate(input_arrays(self.preprocess, [i.name for i in inputs])):
            if arrays:  # scale/standardize of this input, as in training
                xs[k] = Preprocess.from_arrays(arrays).apply(xs[k])
        out = self._backend.predict(xs, batch_size)
        if single:
            return [o[0] for o in out] if isinstance(out, list) else out[0]
        return out

    def evaluate(self, x=None, y=None, *, split: str | None = None) -> dict:
        """Loss and the spec's metrics, {"loss": ..., "accuracy": ...}, with the run's preprocessing and
        classes: on raw inputs x and targets y (NumPy or pandas), or, without them, on a split of the
        spec's own data (split="test" by default, as `specc eval`)."""
        from .errors import SpecError

        if x is not None or y is not None:
            if split is not None:
                raise SpecError("evaluate(): give x and y, or split=, not both")
            return evaluate_arrays(self, x, y)
        if self.run_dir is None:
            raise SpecError("evaluate() needs a trained run (weights saved in a run directory)")
        from .evaluation import evaluate_run

        return evaluate_run(self.program, self.run_dir, split=split or "test")


def check_backend_options(backend, options: dict) -> None:
    """Keyword arguments a backend does not take are an error, not silently ignored."""
    import inspect

    from .backend_lookup import backend_class
    from .errors import SpecError, did_you_mean

    params = inspect.signature(backend_class(backend).__init__).parameters
    known = [p for p, v in params.items() if v.kind == v.KEYWORD_ONLY and p not in ("seed",)]
    known += ["x", "y", "val", "test", "out", "resume", "quiet"]
    for key in options:
        if key not in known:
            raise SpecError(f"train() got an unknown keyword argument {key!r}",
                            hint=did_you_mean(key, known) or f"known: {', '.join(sorted(known))}")


def array_datasets(program: Program, x, y, val, test):
    """Datasets from arrays given to train(), or None to read the data block (x not given)."""
    from .errors import SpecError

    if x is None:
        if y is not None or val is not None or test is not None:
            raise SpecError("train(): y=, val= and test= go with x=; without x the data block is read")
        return None
    from .data import load_data
    from .data.arrays import raws_from

    m = program.model
    return load_data(program, raws_from(x, y, val, test, [i.name for i in m.inputs], [o.name for o in m.outputs]))


def evaluate_arrays(model: "TrainedModel", x, y) -> dict:
    """TrainedModel.evaluate: targets encoded with the run's classes, the run's saved preprocessing."""
    from .data.arrays import to_raw
    from .data.preprocess import Preprocess
    from .data.targets import (class_names, encode_more_targets, encode_targets, reshape_inputs,
                               reshape_more_inputs, uses_indices)
    from .data.types import Datasets, Split
    from .evaluation import evaluate_run
    from .errors import SpecError

    program = model.program
    if model.run_dir is None:
        raise SpecError("evaluate() needs a trained run (weights saved in a run directory)")
    m = program.model
    raw = to_raw(x, y, "evaluate", [i.name for i in m.inputs], [o.name for o in m.outputs])
    pos = program.data.pos if program.data is not None else program.model.pos
    xs = np.array(reshape_inputs(raw, program.model.input_shape, pos, program.source_text), np.float32)
    more_x = tuple(np.array(a, np.float32) for a in reshape_more_inputs(raw, program, pos, program.source_text))
    if program.data is not None and program.data.target == "input":
        raise SpecError("evaluate() takes targets; for an autoencoder (target = input) use predict()")
    classes = tuple(model.classes) if model.classes else class_names(program, [raw])
    ys, _ = encode_targets(raw, program, uses_indices(program, [raw]), classes, pos, program.source_text)
    split = Split(xs, ys, more_x, encode_more_targets(raw, program, pos, program.source_text))
    return evaluate_run(program, model.run_dir, split="test",
                        data=Datasets(split, None, split, classes, Preprocess()))


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


def runs(directory="runs", *, frame: bool = False):
    """The runs under `directory` (oldest first) as specc.runs.Run records, or a pandas DataFrame with
    frame=True (one row per run; best_*, final_* and test_* columns for the metrics)."""
    from .runinfo import find_runs

    found = find_runs(directory)
    if not frame:
        return found
    import pandas

    rows = []
    for r in found:
        row = {k: v for k, v in r.as_dict().items() if k not in ("final", "best", "test")}
        for where in ("best", "final", "test"):
            row.update({f"{where}_{k}": v for k, v in getattr(r, where).items()})
        rows.append(row)
    return pandas.DataFrame(rows)


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
    from .data.preprocess import check_saved_inputs

    preprocess = _preprocess_of(run_dir)
    check_saved_inputs(preprocess, program.model.inputs, run_dir / rundir.PREPROCESS)
    return TrainedModel(program, params, run_dir, preprocess, rundir.read_classes(run_dir))
