"""The run directory: where a training run puts everything it produces.

Layout (docs/ARCHITECTURE.md, "Run directory"):
  weights.npz      final weights (the best ones when early stopping ran), canonical keys
  spec.nn          the normalized spec (overrides applied) the run was trained from
  preprocess.npz   scale / mean / std of the training split
  classes.json     class names (null when the data has none)
  vocab.json       the vocabulary of a text source (specc.vocab; only runs on text data)
  metrics.csv      one row per epoch;  metrics.jsonl  the same rows as JSON
  curves.png       learning curves
  checkpoint.npz   state to resume from
  manifest.json    spec hash, seed, backend, library versions, result summary

The spec hash is taken over the *resolved* program (overrides applied, source
positions dropped), so reformatting a file or moving a comment does not stop a
resume, but changing a layer, a learning rate or the seed does.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from .claim import LOCK  # noqa: F401  (the run's lock file, made with O_EXCL when a run claims it)
from .errors import SpecError
from .ir import Pos, Program

WEIGHTS = "weights.npz"
SPEC = "spec.nn"
PREPROCESS = "preprocess.npz"
CLASSES = "classes.json"
VOCAB = "vocab.json"
METRICS_CSV = "metrics.csv"
METRICS_JSONL = "metrics.jsonl"
CURVES = "curves.png"
CHECKPOINT = "checkpoint.npz"
MANIFEST = "manifest.json"
EVENTS_GLOB = "events.out.tfevents.*"  # TensorBoard event files (specc/tensorboard.py)
CONFUSION_FILES = ("confusion.csv", "confusion.png")  # specc/confusion.py
RUN_FILES = (WEIGHTS, SPEC, PREPROCESS, CLASSES, METRICS_CSV, METRICS_JSONL, CURVES, CHECKPOINT, MANIFEST,
             *CONFUSION_FILES)
RUN_MARKERS = (MANIFEST, CHECKPOINT, WEIGHTS)  # any of these means "a previous run lives here"


def default_run_dir(model_name: str, now: _dt.datetime | None = None, root: str | os.PathLike = "runs") -> Path:
    """runs/<model>-<YYYYmmdd-HHMMSS>, with -2, -3, ... appended if that already exists."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{model_name}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def prepare(path) -> Path:
    """Create the directory and prove it is writable, before any training starts."""
    path = Path(path)
    where = Pos(file=str(path))
    if path.exists() and not path.is_dir():
        raise SpecError(f"output path {path} exists and is not a directory", where)
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".specc-write-test-{os.getpid()}"
        with open(probe, "w") as f:
            f.write("ok")
        probe.unlink()
    except OSError as e:
        if created:  # leave no empty directory behind a refused start
            try:
                path.rmdir()
            except OSError:
                pass
        raise SpecError(f"cannot write to output directory {path}: {e.strerror or e}", where,
                        hint="choose another directory with --out") from None
    remove_stale_temps(path)
    return path


def remove_stale_temps(path) -> int:
    """Delete temp files of atomic writes that a SIGKILL interrupted (`.<run file>.XXXX.tmp`).

    They are never read (the target file is replaced only after a complete
    write), so they are only litter; one run writes a directory at a time.
    """
    prefixes = tuple(f".{name}." for name in RUN_FILES)
    removed = 0
    for p in Path(path).glob(".*.tmp"):
        if p.name.startswith(prefixes):
            try:
                p.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def refuse_previous_run(path, force: bool = False) -> list[str]:
    """A new run must not silently overwrite an earlier one; returns the files `force` will replace."""
    path = Path(path)
    found = [name for name in RUN_MARKERS if (path / name).exists()] if path.is_dir() else []
    if found and not force:
        raise SpecError(f"{path} already holds a training run ({', '.join(found)}); not overwriting it",
                        Pos(file=str(path)),
                        hint=f"continue it with --resume {path}, choose a new --out, or pass --force to replace it")
    return found


def clear_run(path) -> None:
    """Delete a previous run's files (for --force), so no stale checkpoint outlives it."""
    for name in RUN_FILES:
        try:
            (Path(path) / name).unlink()
        except FileNotFoundError:
            pass
        except OSError as e:
            raise SpecError(f"cannot replace {Path(path) / name}: {e.strerror or e}", Pos(file=str(path))) from None
    for events in Path(path).glob(EVENTS_GLOB):  # TensorBoard would show the old run's curves beside the new
        events.unlink()


# ---------------------------------------------------------------- spec hash

def _plain(value):
    """A JSON-able, position-free form of IR values (dataclasses, tuples, dicts)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"__type__": type(value).__name__}
        for f in dataclasses.fields(value):
            if f.name in ("pos", "scope"):  # where it was written, which block use it came from
                continue
            if f.name == "dtype" and getattr(value, f.name) == "float32":
                continue  # the default: runs from before the `dtype` key keep their hash
            out[f.name] = _plain(getattr(value, f.name))
        return out
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return repr(value)  # exact; also handles inf/nan
    if isinstance(value, np.generic):
        return _plain(value.item())
    return value


def _sha(plain) -> str:
    blob = json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def spec_hash(program: Program) -> str:
    """sha256 of the resolved model, data and train specs (not of the file's text)."""
    return _sha({"model": _plain(program.model), "data": _plain(program.data), "train": _plain(program.train)})


# Train keys a resumed run may change: "continue with a longer schedule" (recorded in the manifest).
SCHEDULE_KEYS = ("epochs", "steps", "schedule")


def resume_hash(program: Program) -> str:
    """spec_hash without the schedule keys: a checkpoint continues under a spec with the same resume hash."""
    train = _plain(program.train)
    if isinstance(train, dict):
        train = {k: v for k, v in train.items() if k not in SCHEDULE_KEYS}
    return _sha({"model": _plain(program.model), "data": _plain(program.data), "train": train})


def model_hash(program: Program) -> str:
    """sha256 of the model block alone (its name aside): weights belong to a model, whatever the data/train."""
    model = {k: v for k, v in _plain(program.model).items() if k != "name"}
    return _sha(model)


def schedule_changes(old_train: dict | None, program: Program) -> dict:
    """{key: [old, new]} for the schedule keys that differ from a manifest's recorded train values."""
    new = _plain(program.train) or {}
    old = old_train or {}
    return {k: [old.get(k), new.get(k)] for k in SCHEDULE_KEYS if old.get(k) != new.get(k)}


def schedule_of(program: Program) -> dict:
    """The schedule keys' values as the manifest records them."""
    train = _plain(program.train) or {}
    return {k: train.get(k) for k in SCHEDULE_KEYS}


# ---------------------------------------------------------------- manifest

def library_versions() -> dict[str, str]:
    """Versions of what shaped the numbers; torch/onnxruntime only if already imported."""
    from . import __version__

    versions = {"specc": __version__, "python": platform.python_version(), "numpy": np.__version__}
    for name in ("torch", "onnx", "onnxruntime"):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "__version__", None):
            versions[name] = str(mod.__version__)
    return versions


def read_manifest(run_dir) -> dict:
    """manifest.json as a dict; a clear error when it is missing, not JSON, or not an object."""
    from .files import regular_file

    path = Path(run_dir) / MANIFEST
    if not path.exists():
        raise SpecError(f"{run_dir} is not a specc run directory (no {MANIFEST})", Pos(file=str(run_dir)))
    regular_file(path, MANIFEST)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise SpecError(f"{MANIFEST} is corrupt: {e}", Pos(file=str(path))) from None
    if not isinstance(manifest, dict):
        raise SpecError(f"{MANIFEST} is corrupt: it holds a JSON {type(manifest).__name__}, not an object",
                        Pos(file=str(path)))
    for key, kind in (("spec_hash", str), ("resume_hash", str), ("backend", str), ("total_steps", int)):
        if key in manifest and not isinstance(manifest[key], kind):
            raise SpecError(f"{MANIFEST} is corrupt: `{key}` is {manifest[key]!r}, not a {kind.__name__}",
                            Pos(file=str(path)))
    return manifest


def write_classes(run_dir, classes) -> None:
    from .checkpoint import save_json

    save_json(Path(run_dir) / CLASSES, list(classes) if classes is not None else None)


def read_classes(run_dir):
    path = Path(run_dir) / CLASSES
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise SpecError(f"{CLASSES} is corrupt: {e}", Pos(file=str(path))) from None
    if value is not None and not isinstance(value, list):
        raise SpecError(f"{CLASSES} must hold a JSON list of class names or null", Pos(file=str(path)))
    return tuple(str(v) for v in value) if value is not None else None


def write_vocab(run_dir, vocab) -> None:
    """vocab.json for a run on text data; nothing for other runs."""
    from .checkpoint import save_text

    if vocab is not None:
        save_text(Path(run_dir) / VOCAB, vocab.to_json())


def read_vocab(run_dir):
    """The run's specc.vocab.Vocab, or None when it trained on no text source."""
    from .vocab import Vocab

    path = Path(run_dir) / VOCAB
    if not path.exists():
        return None
    try:
        return Vocab.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise SpecError(f"{VOCAB} is corrupt: {e}", Pos(file=str(path))) from None


def require_run_dir(run_dir) -> Path:
    path = Path(run_dir)
    if not path.is_dir():
        raise SpecError(f"run directory {path} does not exist", Pos(file=str(path)))
    return path
