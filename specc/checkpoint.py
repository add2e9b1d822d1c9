"""Reading and writing weight and checkpoint archives (.npz), atomically and without pickles.

A crash or Ctrl-C in the middle of a write must never leave a half-written
checkpoint behind in place of the last good one, so every write goes to a
temporary file in the same directory, is flushed and fsynced, and then
replaces the target with `os.replace` (atomic on POSIX and Windows).

Reading uses `allow_pickle=False`: an archive can only hold plain arrays.
A truncated or corrupt file is reported as a SpecError naming the file.

Checkpoint layout (one flat .npz):
  "param/<canonical key>"   current parameters and buffers
  "optim/<name>"            the backend's optimizer_state()
  "best/<canonical key>"    best parameters so far (early stopping), if any
  "meta"                    JSON as UTF-8 bytes (a uint8 array): step, epoch,
                            position, early-stop state, metrics history, ...
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SpecError
from .files import regular_file, umask_mode
from .ir import Pos
from .limits import check_npy_sizes

CHECKPOINT_VERSION = 1

_MODE = umask_mode()  # mkstemp makes 0600 files; give results the usual permissions


def _tempfile(path: Path) -> tuple[int, str]:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _MODE)
    except OSError:
        pass
    return fd, tmp


def _atomic_write(path, mode: str, write) -> None:
    """Write through `write(file)` to a temp file beside `path`, fsync, then rename over it.

    A reader (or a SIGKILL at any moment) sees either the old file or the new
    one, never a half-written one; the directory is fsynced so the rename lasts.
    """
    path = Path(path)
    fd, tmp = _tempfile(path)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def save_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` to `path` atomically (temp file + flush + fsync + os.replace)."""
    _atomic_write(path, "wb", lambda f: np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()}))


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable where the OS allows it (not on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_npz(path) -> dict[str, np.ndarray]:
    """Every array of an .npz archive, fully read; a clear SpecError if it is missing or damaged."""
    path = Path(path)
    where = Pos(file=str(path))
    if not path.exists():
        raise SpecError(f"{path} does not exist", where)
    regular_file(path, path.name)
    if not zipfile.is_zipfile(path):  # np.load would take it for a pickle or a bare .npy
        raise SpecError(f"cannot read {path.name}: the file is truncated or corrupt (not an .npz archive)", where,
                        hint="re-run training, or resume from an earlier copy")
    check_npy_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise SpecError(f"{path.name} holds pickled Python objects; specc only loads plain arrays", where,
                            hint="pickles can run code when loaded; re-save the arrays with numpy.savez") from None
        raise SpecError(f"cannot read {path.name}: the file is truncated or corrupt ({e})", where,
                        hint="re-run training, or resume from an earlier copy") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise SpecError(f"cannot read {path.name}: the file is truncated or corrupt ({e})", where,
                        hint="re-run training, or resume from an earlier copy") from None


def save_json(path, obj) -> None:
    """Write JSON atomically (same temp-file dance as save_npz)."""
    save_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_text(path, text: str) -> None:
    _atomic_write(path, "w", lambda f: f.write(text))


def save_figure(path, fig, **savefig_args) -> None:
    """A matplotlib figure as PNG, atomically: plots are often drawn in the background while
    a reader (a test, a report, a browser) polls for the file, and must never see half of one."""
    _atomic_write(path, "wb", lambda f: fig.savefig(f, format="png", **savefig_args))


# ---------------------------------------------------------------- weights

# The record a weights file carries besides its arrays: which model it belongs to. Canonical
# parameter keys always hold a dot ("dense_1.weight"), so this key never collides with one.
WEIGHTS_RECORD = "__specc__"


def save_weights(path, params: dict[str, np.ndarray], record: dict | None = None) -> None:
    """Canonical weights: one array per canonical key, float32, plus `record` (spec/model hash) as JSON."""
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    if record is not None:
        arrays[WEIGHTS_RECORD] = np.frombuffer(json.dumps(record).encode("utf-8"), np.uint8)
    save_npz(path, arrays)


def split_record(arrays: dict[str, np.ndarray], path) -> tuple[dict[str, np.ndarray], dict | None]:
    """(parameters, record or None) of a weights archive; a damaged record is a clear SpecError."""
    arrays = dict(arrays)
    raw = arrays.pop(WEIGHTS_RECORD, None)
    if raw is None:
        return arrays, None
    try:
        record = json.loads(np.asarray(raw, np.uint8).tobytes().decode("utf-8"))
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise SpecError(f"{Path(path).name}: its {WEIGHTS_RECORD} record is corrupt ({e})", Pos(file=str(path))) from None
    if not isinstance(record, dict):
        raise SpecError(f"{Path(path).name}: its {WEIGHTS_RECORD} record is not a JSON object", Pos(file=str(path)))
    return arrays, record


def load_weights(path) -> dict[str, np.ndarray]:
    """Parameters of a weights archive (its record dropped; see load_weights_record)."""
    return load_weights_record(path)[0]


def load_weights_record(path) -> tuple[dict[str, np.ndarray], dict | None]:
    params, record = split_record(load_npz(path), path)
    bad = [k for k, v in params.items() if v.dtype.kind not in "biuf"]
    if bad:  # e.g. string arrays: refused here, not a ValueError inside a backend
        raise SpecError(f"{Path(path).name}: `{bad[0]}` holds {params[bad[0]].dtype} values, not numbers",
                        Pos(file=str(path)))
    return params, record


def check_owner(record: dict | None, model_hash: str, path) -> None:
    """Weights trained from another model (same shapes, other layers) are refused; files without a record pass."""
    if record is None or "model_hash" not in record:
        return
    if record["model_hash"] != model_hash:
        raise SpecError(f"{path} belongs to another model: its model hash {str(record['model_hash'])[:19]}... is not "
                        f"this spec's {model_hash[:19]}... (the same parameter shapes, other layers)",
                        Pos(file=str(path)), hint="use weights trained from this spec's model")


def check_weights(params: dict[str, np.ndarray], expected: dict[str, np.ndarray], path) -> None:
    """Weights must have exactly the keys and shapes the spec implies (`expected`: key -> anything with
    a .shape, e.g. initial arrays or the IR's Params). Every problem is named at once."""
    parts = []
    missing = [k for k in expected if k not in params]
    extra = [k for k in params if k not in expected]
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(extra))
    parts += [f"{k} has shape {list(params[k].shape)}, the spec needs {list(v.shape)}"
              for k, v in expected.items() if k in params and tuple(params[k].shape) != tuple(v.shape)]
    if parts:
        raise SpecError(f"weights do not match the spec: {'; '.join(parts)}", Pos(file=str(path)),
                        hint="were these weights trained from another spec?")


# ---------------------------------------------------------------- checkpoints

@dataclass
class Checkpoint:
    """Everything needed to continue a run exactly where it stopped."""

    params: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray]
    meta: dict
    best: dict[str, np.ndarray] = field(default_factory=dict)


def save_checkpoint(path, ckpt: Checkpoint) -> None:
    arrays: dict[str, np.ndarray] = {}
    for prefix, group in (("param/", ckpt.params), ("optim/", ckpt.optimizer), ("best/", ckpt.best)):
        for k, v in group.items():
            arrays[prefix + k] = np.asarray(v)
    meta = dict(ckpt.meta, version=CHECKPOINT_VERSION)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)  # UTF-8 bytes: no pickle needed
    save_npz(path, arrays)


def load_checkpoint(path) -> Checkpoint:
    arrays = load_npz(path)
    if "meta" not in arrays:
        raise SpecError(f"{Path(path).name} is not a specc checkpoint (no meta record)", Pos(file=str(path)))
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise SpecError(f"{Path(path).name}: corrupt checkpoint metadata ({e})", Pos(file=str(path))) from None
    groups: dict[str, dict] = {"param/": {}, "optim/": {}, "best/": {}}
    for k, v in arrays.items():
        for prefix, group in groups.items():
            if k.startswith(prefix):
                group[k[len(prefix):]] = v
                break
    return Checkpoint(groups["param/"], groups["optim/"], meta, groups["best/"])
