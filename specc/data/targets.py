"""Targets and inputs checked against the model, and converted to the backend contract.

Decisions (documented for users in docs/language.md by the lead):
  * classification when the loss is cross_entropy / nll / bce, or the target
    holds text labels, or (no train block) the model ends in softmax/log_softmax;
  * text labels map to class indices in the order of `classes` if given, else
    sorted unique labels over all sources together (train and test agree);
  * classification targets: int64 class indices [N]; a float target with one
    value per output unit is a probability vector [N, *output]; bce with one
    output takes indices in {0, 1} or probabilities;
  * regression targets: float32 [N, *output_shape]; a one-value integer target
    for a model with K > 1 outputs (e.g. MNIST labels with mse) becomes one-hot;
  * inputs are reshaped to the model input shape when the sizes agree
    (MNIST 28x28 -> [784] or [1, 28, 28]).
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import DataError
from ..ir import Program
from .types import Raw, shape_str

CLASSIFICATION_LOSSES = {"cross_entropy", "nll", "bce"}


def loss_name(program: Program) -> str | None:
    return program.train.loss.name if program.train is not None else None


def uses_indices(program: Program, raws: list[Raw]) -> bool:
    """Whether targets are class indices / probabilities (a classification loss)."""
    loss = loss_name(program)
    if loss is not None:
        return loss in CLASSIFICATION_LOSSES
    return program.model.output_op in ("softmax", "log_softmax") or any(
        r.y is not None and r.y.dtype.kind == "U" for r in raws)


def class_names(program: Program, raws: list[Raw]) -> tuple[str, ...] | None:
    """`classes` from the spec, else sorted text labels of all sources, else a bundled set's names."""
    if program.data is not None and program.data.classes:
        return tuple(str(c) for c in program.data.classes)
    texts = [r.y for r in raws if r.y is not None and r.y.dtype.kind == "U"]
    if texts:
        return tuple(str(t) for t in np.unique(np.concatenate(texts)))
    for r in raws:
        if r.label_names:
            return r.label_names
    return None


def _name(raw: Raw) -> str:
    return os.path.basename(raw.file) if os.path.isabs(raw.file) else raw.file


def reshape_inputs(raw: Raw, input_shape, pos, text) -> np.ndarray:
    """x as [N, *input_shape] (a view), or a DataError when the sizes differ."""
    per = int(np.prod(raw.x.shape[1:], dtype=np.int64))
    want = int(np.prod(input_shape, dtype=np.int64))
    if per != want:
        sizes = "" if raw.features.endswith("columns") or raw.features.endswith("column") else f" ({per} values)"
        model = f" ({want} values)" if sizes else ""
        raise DataError(f"{_name(raw)} has {raw.features}{sizes}; the model input is {shape_str(input_shape)}{model}",
                        pos, source=text, hint="change the model's `input` shape or the data's columns")
    return raw.x.reshape((len(raw.x), *input_shape))


def _at(raw: Raw, i: int, msg: str, hint=None) -> DataError:
    p, where = raw.where(i)
    return DataError(f"{msg} ({where} of {_name(raw) if raw.y_file is None else os.path.basename(raw.y_file)})",
                     p, hint=hint, source="")


def to_indices(raw: Raw, classes: tuple[str, ...] | None) -> np.ndarray:
    """Class indices int64 [N] from text labels (via `classes`) or integer-valued numbers."""
    y = raw.y
    if y.dtype.kind == "U" or (classes and raw.y_text is not None and np.isin(raw.y_text, classes).all()):
        text = y if y.dtype.kind == "U" else raw.y_text
        lookup = {c: i for i, c in enumerate(classes)}
        uniq, inv = np.unique(text, return_inverse=True)
        codes = np.array([lookup.get(str(u), -1) for u in uniq], np.int64)
        if (codes < 0).any():
            bad = str(uniq[int(np.flatnonzero(codes < 0)[0])])
            i = int(np.flatnonzero(text == bad)[0])
            raise _at(raw, i, f"label {bad!r} is not one of the classes {', '.join(classes)}")
        return codes[inv.reshape(-1)]
    flat = y.reshape(len(y), -1)
    if flat.shape[1] != 1:
        raise _at(raw, 0, f"a class-index target has one value per sample, this one has {flat.shape[1]}")
    flat = flat[:, 0]
    if flat.dtype.kind == "f":
        bad = np.flatnonzero(flat != np.round(flat))
        if len(bad):
            raise _at(raw, int(bad[0]), f"target {flat[bad[0]]:g} is not a class index (a whole number)")
    flat = flat.astype(np.int64)
    neg = np.flatnonzero(flat < 0)
    if len(neg):
        raise _at(raw, int(neg[0]), f"label {flat[neg[0]]} is not a class index (they start at 0)")
    return flat


def _check_range(raw: Raw, idx: np.ndarray, limit: int, what: str) -> None:
    if len(idx) and idx.max() >= limit:
        i = int(np.argmax(idx))
        raise _at(raw, i, f"label {idx[i]} but {what}",
                  hint="class indices run from 0 to (number of outputs - 1)")


def encode_targets(raw: Raw, program: Program, classification: bool,
                   classes: tuple[str, ...] | None, pos, text) -> tuple[np.ndarray, np.ndarray | None]:
    """(y, labels): y in the backend contract, int64 [N] indices or float32 [N, *output_shape];
    labels are the class indices [N] when the targets name classes (used to stratify splits)."""
    out_shape = tuple(program.model.output_shape)
    n_out = int(np.prod(out_shape, dtype=np.int64))
    loss = loss_name(program)
    y = raw.y
    if raw.token_targets and y is not None:  # next-token ids of text(): checked once the vocabulary is final
        return y, None
    if y is None:
        raise DataError(f"{_name(raw)} has no targets", pos, source=text,
                        hint="name the target column/array, or set `target = input` for an autoencoder")
    n = len(y)
    per = int(np.prod(y.shape[1:], dtype=np.int64))
    is_text = y.dtype.kind == "U"
    outputs = f"the model has {n_out} output{'s' if n_out != 1 else ''}"

    def values():
        v = y.astype(np.float32).reshape((n, *out_shape))
        if not np.isfinite(v).all():
            i = int(np.flatnonzero(~np.isfinite(v.reshape(n, -1)).all(1))[0])
            raise _at(raw, i, "target is not a finite number")
        return v

    if classification and _position_targets(y, out_shape, loss):
        idx = y.astype(np.int64).reshape(n, out_shape[0])
        bad = np.flatnonzero(((idx < 0) | (idx >= out_shape[1])).any(1) | (y.reshape(n, -1) != idx).any(1))
        if len(bad):
            row = idx[bad[0]]
            wrong = row[(row < 0) | (row >= out_shape[1])]
            what = f"{wrong[0]}" if len(wrong) else "a value that is not a whole number"
            raise _at(raw, int(bad[0]), f"per-position target {what} is not a class index of the output "
                      f"{shape_str(out_shape)}", hint=f"class indices run from 0 to {out_shape[1] - 1}")
        return idx, None

    if classification:
        soft = not is_text and y.dtype.kind == "f" and (
            (per == n_out and n_out > 1) or (loss == "bce" and n_out == 1 and (y != np.round(y)).any()))
        if soft:  # probability vectors
            v = values()
            flat = v.reshape(n, -1)
            if ((flat < 0) | (flat > 1)).any():
                i = int(np.flatnonzero(((flat < 0) | (flat > 1)).any(1))[0])
                raise _at(raw, i, "probability targets must lie in [0, 1]")
            if loss in ("cross_entropy", "nll"):
                s = flat.sum(1)
                # rows of float32 probabilities sum to 1 up to rounding; 1e-3 allows hand-typed 0.333
                bad = np.flatnonzero(np.abs(s - 1) > 1e-3)
                if len(bad):
                    raise _at(raw, int(bad[0]), f"probability targets sum to {s[bad[0]]:g}, not 1")
            return v, None
        if per != 1:
            raise DataError(f"{_name(raw)} has targets of shape {shape_str(y.shape[1:])}; {outputs} "
                            f"{shape_str(out_shape)}", pos, source=text)
        idx = to_indices(raw, classes)
        if classes and not is_text:
            _check_range(raw, idx, len(classes), f"`classes` names {len(classes)} classes")
        if loss == "bce":
            if n_out == 1:
                _check_range(raw, idx, 2, "bce with one output takes labels 0 and 1")
                return idx, idx
            _check_range(raw, idx, n_out, outputs)
            return np.eye(n_out, dtype=np.float32)[idx].reshape((n, *out_shape)), idx
        _check_range(raw, idx, n_out, outputs)
        return idx, idx

    # regression
    if per == n_out and not is_text:
        labels = y.reshape(-1).astype(np.int64) if raw.labels and per == 1 and y.dtype.kind in "iu" else None
        return values(), labels
    if per == 1 and (is_text or raw.labels or y.dtype.kind in "iub" or (y == np.round(y)).all()):
        idx = to_indices(raw, classes)
        if classes:
            _check_range(raw, idx, len(classes), f"`classes` names {len(classes)} classes")
        if n_out == 1:
            return idx.astype(np.float32).reshape((n, *out_shape)), idx
        _check_range(raw, idx, n_out, outputs)
        return np.eye(n_out, dtype=np.float32)[idx].reshape((n, *out_shape)), idx  # one-hot
    raise DataError(f"{_name(raw)} has {per} target value{'s' if per != 1 else ''} per sample; "
                    f"the model output is {shape_str(out_shape)}", pos, source=text)


def _position_targets(y: np.ndarray, out_shape, loss) -> bool:
    """Class indices [N, T] for a sequence output [T, classes]: one target per position."""
    return (len(out_shape) == 2 and y.dtype.kind in "iuf" and tuple(y.shape[1:]) == (out_shape[0],)
            and loss in ("cross_entropy", "nll", None) and out_shape[1] > 1)


def mark_padding(program: Program, xs: list, y: np.ndarray) -> np.ndarray:
    """Per-position targets [N, T] with -1 where the output's position is padding (specc/masks.py):
    the losses and metrics leave those positions out. Other targets are returned unchanged."""
    from ..masks import numpy_mask, output_sources

    model = program.model
    sources = output_sources(model)[0] if model.outputs else ()
    if not sources or y is None or y.ndim != 2 or y.dtype.kind not in "iu":
        return y
    mask = numpy_mask(model, dict(zip((i.name for i in model.inputs), xs)), sources)
    return np.where(mask, y, -1)


def check_tokens(raw: Raw, program: Program, pos, text) -> None:
    """Token inputs hold whole numbers below the vocabulary of every embedding that reads them."""
    model = program.model
    if raw.vocab is not None:  # text sources: checked once the vocabulary is final (data/text.py)
        return
    arrays = dict(zip((i.name for i in model.inputs), (raw.x, *raw.more_x)))
    for inp in model.inputs:
        if inp.dtype != "int" or inp.name not in arrays:
            continue
        x = arrays[inp.name]
        flat = x.reshape(len(x), -1)
        if x.dtype.kind not in "iub":
            wrong = np.flatnonzero((flat != np.round(flat)).any(1)) if x.dtype.kind == "f" else np.arange(len(x))
            if len(wrong):
                raise _at(raw, int(wrong[0]), f"input `{inp.name}` holds token ids, which must be whole numbers")
        vocab = min((layer.attrs["vocab"] for layer in model.layers
                     if layer.op == "embedding" and inp.name in layer.inputs), default=None)
        out = (flat < 0) | (flat >= vocab) if vocab is not None else flat < 0
        bad = np.flatnonzero(out.any(1))
        if len(bad):
            value = flat[bad[0]][out[bad[0]]][0]
            limit = f"0 to {vocab - 1}" if vocab is not None else "0 or more"
            raise _at(raw, int(bad[0]), f"token id {value:g} of input `{inp.name}` is outside the vocabulary "
                      f"({limit})", hint="the embedding's `vocab` must exceed the largest token id")


def encode_more_targets(raw: Raw, program: Program, pos, text) -> tuple:
    """Targets of a model's second and later outputs (npz with y=[...]), one array each.

    Class indices [N] for a cross-entropy or nll output (checked against its units), else values
    shaped like the output. Labels given as text, `classes` and stratification apply to the first
    output only.
    """
    if not raw.more_y:
        return ()
    model, out = program.model, []
    losses = program.train.losses[1:] if program.train else [None] * len(raw.more_y)
    for k, (y, output, ol) in enumerate(zip(raw.more_y, model.outputs[1:], losses), 2):
        shape = tuple(model.value_shape(output.value))
        n = len(y)
        where = f"{_name(raw)}, target {k} ({output.name})"
        if y.dtype.kind not in "buif":
            raise DataError(f"{where}: targets of an output after the first must be numbers", pos, source=text)
        if ol is not None and ol.loss.name in ("cross_entropy", "nll") and y.dtype.kind in "biu" and y.size == n:
            idx = y.reshape(n).astype(np.int64)
            if len(idx) and (idx.min() < 0 or idx.max() >= shape[0]):
                i = int(np.flatnonzero((idx < 0) | (idx >= shape[0]))[0])
                raise _at(raw, i, f"label {idx[i]} of output {output.name}, which has {shape[0]} classes")
            out.append(idx)
            continue
        if y.size != n * int(np.prod(shape, dtype=np.int64)):
            raise DataError(f"{where} has shape {shape_str(y.shape[1:])}; the output is {shape_str(shape)}",
                            pos, source=text)
        v = y.astype(np.float32).reshape((n, *shape))
        if not np.isfinite(v).all():
            i = int(np.flatnonzero(~np.isfinite(v.reshape(n, -1)).all(1))[0])
            raise _at(raw, i, f"target of output {output.name} is not a finite number")
        out.append(v)
    return tuple(out)


def reshape_more_inputs(raw: Raw, program: Program, pos, text) -> tuple:
    """The arrays of a model's second and later inputs, shaped like those inputs."""
    out = []
    for arr, inp in zip(raw.more_x, program.model.inputs[1:]):
        one = Raw(x=arr, y=None, file=raw.file, features=f"samples of shape {shape_str(arr.shape[1:])}")
        out.append(reshape_inputs(one, inp.shape, pos, text))
    return tuple(out)
