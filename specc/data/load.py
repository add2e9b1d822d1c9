"""`load_data(program)`: sources -> targets -> splits -> float32 -> preprocessing.

The order matters for memory: arrays stay in their file dtype (uint8 for
MNIST) through loading and splitting; each split is converted to float32
once, straight into its final buffer, and preprocessed in place.
`check_data` runs the same steps up to the split without converting, and
returns every independent problem instead of raising the first.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import DataError, SpecError, SpecErrors
from ..ir import DataSpec, Program, Source, Spec
from ..rng import stream
from . import splits as _splits
from .finite import check_finite
from .preprocess import CHUNK, Preprocess, given_stats, mean_std, mean_std_per_channel
from .sources import load_source
from .stream import StreamedArray
from .targets import (check_tokens, class_names, encode_more_targets, encode_targets, mark_padding, reshape_inputs,
                      reshape_more_inputs, uses_indices)
from .text import finish_vocab
from .types import Datasets, Raw, Split


# A spec whose data block has no source trains from Python only; the commands that read data say so.
NO_SOURCE_HINT = ("add `source = ...` (or `train = ...`) to the data block, or train from Python: "
                  "specc.compile(spec).train(x=..., y=...)")


def _roles(program: Program) -> list[tuple[str, Source]]:
    d = program.data
    if d.source is not None:
        return [("source", d.source)]
    if d.train is None:
        raise SpecError("the data block names no `source` or `train`, so there is no data to read", d.pos,
                        source=program.source_text, hint=NO_SOURCE_HINT)
    roles = [("train", d.train)]
    if isinstance(d.val, Source):
        roles.append(("val", d.val))
    if d.test is not None:
        roles.append(("test", d.test))
    return roles


def _fractions(program: Program, errors: list) -> tuple[float, float]:
    """(val, test) fractions of the source / of train."""
    d = program.data
    text = program.source_text

    def bad(msg):
        errors.append(SpecError(msg, d.pos, source=text))
        return 0.0, 0.0

    if d.source is not None:
        fr = tuple(d.split) if d.split is not None else (1.0, 0.0, 0.0)
        if len(fr) == 2:  # [train, test]
            fr = (fr[0], 0.0, fr[1])
        if len(fr) != 3:
            return bad(f"split has {len(fr)} entries; write [train, val, test] fractions")
        if any(not math.isfinite(f) or f < 0 for f in fr):
            return bad(f"split fractions must be 0 or more, got {list(fr)}")
        if abs(sum(fr) - 1.0) > 1e-6:
            return bad(f"split fractions sum to {sum(fr):g}; they must sum to 1")
        return fr[1], fr[2]
    val = d.val if isinstance(d.val, (int, float)) and not isinstance(d.val, bool) else 0.0
    if not 0.0 <= val < 1.0:
        return bad(f"val = {val:g} must be a fraction of train in [0, 1)")
    return float(val), 0.0


def _to_float32(x: np.ndarray, idx: np.ndarray | None, dtype=np.float32) -> np.ndarray:
    """x[idx] as a new float32 array (int64 for token ids), filled in chunks (no full-size temporaries)."""
    n = len(x) if idx is None else len(idx)
    out = np.empty((n, *x.shape[1:]), dtype)
    for i in range(0, n, CHUNK):
        out[i:i + CHUNK] = x[i:i + CHUNK] if idx is None else x[idx[i:i + CHUNK]]
    return out


def _finish_errors(errors: list, program: Program) -> list:
    """Spec positions show the spec's line; data-file positions never show a spec line."""
    for e in errors:
        if e.source is None:
            e.source = program.source_text if e.pos is None or e.pos.file == program.path else ""
    return errors


def _prepare(program: Program, errors: list, arrays: dict[str, Raw] | None = None):
    """Everything up to the split; None when an error was collected.
    `arrays`: Raws given from Python ({"train", "val", "test"}) instead of the data block's sources."""
    d = program.data
    text = program.source_text
    if d is None:
        errors.append(SpecError("the spec has no data block", program.model.pos, source=text))
        return None
    try:
        roles = _roles(program) if arrays is None else [(r, Source("arrays", {}, d.pos)) for r in arrays]
    except SpecError as e:
        errors.append(e)
        return None
    autoencoder = d.target == "input"
    raws: dict[str, Raw] = {}
    xs, more_x = {}, {}
    for role, src in roles:
        try:
            raw = load_source(src, program, role, want_target=not autoencoder) if arrays is None else arrays[role]
            _check_counts(raw, program, src)
            for x in () if raw.streamed else (raw.x, *raw.more_x):  # NaN/inf, or beyond float32
                check_finite(x, raw.file, "input", lines=raw.lines)  # (npy() checks shard by shard)
            for y in (raw.y, *getattr(raw, "more_y", ())):
                if y is not None:
                    check_finite(y, raw.y_file or raw.file, "target", lines=raw.lines)
            raws[role] = raw
            xs[role] = reshape_inputs(raw, program.model.input_shape, src.pos, text)
            more_x[role] = reshape_more_inputs(raw, program, src.pos, text)
            check_tokens(raw, program, src.pos, text)
        except SpecError as e:
            errors.append(e)
    val_frac, test_frac = _fractions(program, errors) if arrays is None else (0.0, 0.0)
    _check_normalize(program, errors)
    _check_augment(program, errors)
    if errors:
        return None

    ys, more_y, labels = {}, {}, {}
    classes = None
    if autoencoder:
        out = tuple(program.model.output_shape)
        if int(np.prod(out)) != int(np.prod(program.model.input_shape)):
            errors.append(DataError(f"target = input needs the model output to match the input: "
                                    f"output {list(out)}, input {list(program.model.input_shape)}",
                                    d.pos, source=text))
            return None
    else:
        indices = uses_indices(program, list(raws.values()))
        classes = class_names(program, list(raws.values()))
        for role, src in roles:
            try:
                ys[role], labels[role] = encode_targets(raws[role], program, indices, classes, src.pos, text)
                ys[role] = mark_padding(program, [xs[role], *more_x[role]], ys[role])
                more_y[role] = encode_more_targets(raws[role], program, src.pos, text)
            except SpecError as e:
                errors.append(e)
        if errors:
            return None
        if all(lab is None for lab in labels.values()):
            classes = None if not indices else classes

    # split the source (or train) into train / val / test index sets
    first = roles[0][0]
    n = len(xs[first])
    n_val, n_test = _splits.sizes(n, val_frac, test_frac)
    # A fraction that rounds to 0 samples gives no such split (e.g. the default
    # [0.8, 0.1, 0.1] on the 4 XOR points): an error there would punish a default.
    if n - n_val - n_test <= 0:
        errors.append(DataError(f"no training samples left: {n} samples, {n_val} for validation, {n_test} for test",
                                d.pos, source=text))
    if errors:
        return None
    parts = None
    if n_val or n_test:
        seed = program.train.seed if program.train is not None else 0
        parts = _splits.partition(n, n_val, n_test, stream(seed, "split"), labels.get(first))
    try:  # text sources: the vocabulary of the training split, every split renumbered into it
        vocab = finish_vocab(program, raws, xs, ys, parts[0] if parts is not None else None)
    except SpecError as e:
        errors.append(e)
        return None
    kind = "autoencoder" if autoencoder else (
        "classification" if classes is not None or any(lab is not None for lab in labels.values()) else "regression")
    streamed = {role for role, raw in raws.items() if raw.streamed}
    return roles, (xs, more_x), (ys, more_y), classes, parts, kind, streamed, vocab


def _check_counts(raw: Raw, program: Program, src: Source) -> None:
    """A source gives one array per model input and (unless target = input) per output."""
    m = program.model
    n_x, n_y = 1 + len(raw.more_x), 1 + len(raw.more_y)
    if n_x != len(m.inputs):
        names = ", ".join(f'"{i.name}"' for i in m.inputs)
        raise DataError(f"the model has {len(m.inputs)} inputs but the data gives {n_x} input array(s)", src.pos,
                        hint=f"npz(path, x=[{names}]) names one archive key per input, in `input` order",
                        source=program.source_text)
    if raw.y is not None and len(m.outputs) > 1 and n_y != len(m.outputs):
        names = ", ".join(f'"{o.name}"' for o in m.outputs)
        raise DataError(f"the model has {len(m.outputs)} outputs but the data gives {n_y} target array(s)",
                        src.pos, hint=f"npz(path, y=[{names}]) names one archive key per output, in `output` order",
                        source=program.source_text)


def _build(program: Program, prepared) -> Datasets:
    roles, (xs, more_x), (ys, more_y), classes, parts, task, streamed, vocab = prepared
    first = roles[0][0]

    def split(role, idx):
        if idx is not None and len(idx) == 0:
            return None
        x, y = xs[role], ys.get(role)
        take = (lambda a: a) if idx is None else (lambda a: a[idx])  # noqa: E731
        kinds = [np.int64 if i.dtype == "int" else np.float32 for i in program.model.inputs]
        # memory-mapped inputs stay on disk: a StreamedArray converts (and preprocesses) each batch it is asked for
        arrays = [x, *more_x.get(role, ())]
        inputs = ([StreamedArray(a, idx, dtype=k) for a, k in zip(arrays, kinds)] if role in streamed
                  else [_to_float32(a, idx, k) for a, k in zip(arrays, kinds)])
        return Split(inputs[0], None if y is None else take(y), tuple(inputs[1:]),
                     tuple(take(a) for a in more_y.get(role, ())))

    if parts is None:
        train, val, test = split(first, None), None, None
    else:
        train, val, test = (split(first, p) for p in parts)
    if "val" in xs:
        val = split("val", None)
    if "test" in xs:
        test = split("test", None)

    # preprocessing per input: scale, then statistics of the (scaled) training split only; token ids are left alone
    splits = [(name, s) for name, s in (("train", train), ("val", val), ("test", test)) if s is not None]
    preps = [_preprocess_input(program, k, splits) for k in range(len(program.model.inputs))]

    if task == "autoencoder":  # y = x after preprocessing (a view, no copy)
        out = tuple(program.model.output_shape)
        for s in (train, val, test):
            if s is not None:
                s.y = s.x.reshape((len(s.x), *out))
    return Datasets(train, val, test, classes, preps[0], task, vocab, more_preprocess=tuple(preps[1:]))


def _preprocess_input(program: Program, k: int, splits: list) -> Preprocess:
    """Scale and standardize model input k of every split in place (a streamed split: per batch as it is
    read); the statistics come from the training split, after scaling. Returns what was applied."""
    inp = program.model.inputs[k]
    setting = program.data.prep_of(inp.name)
    if inp.dtype == "int" or (setting.scale is None and not setting.standardize):
        return Preprocess(None)  # the front end lets no token input be scaled (passes/sections.resolve_prep)
    pre = Preprocess(scale=setting.scale)
    train_x = splits[0][1].inputs[k]
    if isinstance(train_x, StreamedArray):  # applied to every batch as it is read; statistics in one pass
        if setting.standardize:
            scaled = train_x.with_preprocess(Preprocess(pre.scale))
            pre.mean, pre.std = _statistics(setting.standardize, inp.shape, scaled)
        for _, s in splits:
            s.set_input(k, s.inputs[k].with_preprocess(pre))
    else:
        pre.apply_(train_x)
        if setting.standardize:
            pre.mean, pre.std = _statistics(setting.standardize, inp.shape, train_x)
            Preprocess(None, pre.mean, pre.std).apply_(train_x)
        for _, s in splits[1:]:
            pre.apply_(s.inputs[k])
    # x * scale, or (x - mean) / std, can overflow float32
    what = "input" if len(program.model.inputs) == 1 else f"input `{inp.name}`"
    for name, s in splits:
        check_finite(s.inputs[k], program.path, f"the {name} split's {what}",
                     after="standardization" if setting.standardize else "scaling")
    return pre


def _statistics(mode, input_shape, x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mean and std for `standardize = true | per_channel | normalize(mean, std)`."""
    if mode == "per_channel":
        return mean_std_per_channel(x_train)
    if isinstance(mode, Spec):  # normalize(mean=[...], std=[...]): given, not fitted
        return given_stats(mode.args["mean"], mode.args["std"], input_shape)
    return mean_std(x_train)


def _check_normalize(program: Program, errors: list) -> None:
    """normalize(mean, std) must have one value per channel of the input it is for."""
    for setting in program.data.prep:
        mode = setting.standardize
        if isinstance(mode, Spec):
            try:
                given_stats(mode.args["mean"], mode.args["std"], program.model.value_shape(setting.input))
            except ValueError as e:
                errors.append(SpecError(str(e), mode.pos, source=program.source_text))


def _check_augment(program: Program, errors: list) -> None:
    """Image steps need an image input, and a crop must give back the input's own size."""
    shape = tuple(program.model.input_shape)
    for step in program.data.augment:
        if step.name != "noise" and len(shape) < 2:
            errors.append(SpecError(f"{step.name} needs an image input [C, H, W] or [H, W]; the input is "
                                    f"{list(shape)}", step.pos, source=program.source_text))
        elif step.name == "random_crop" and step.args.get("size") not in (None, shape[-2:]):
            errors.append(SpecError(f"random_crop(size={list(step.args['size'])}) must keep the input's size "
                                    f"{list(shape[-2:])} (validation and test images are not cropped)",
                                    step.pos, source=program.source_text,
                                    hint="leave size out: random_crop(pad=4) pads and crops back to the input's size"))


def _raise(errors: list, program: Program):
    _finish_errors(errors, program)
    if len(errors) == 1:
        raise errors[0]
    raise SpecErrors(errors)


def load_data(program: Program, arrays: dict[str, Raw] | None = None) -> Datasets:
    """Load, check, split and preprocess the data of a program (raises DataError / SpecErrors).

    `arrays` ({"train": Raw, "val": ..., "test": ...}, see data/arrays.py) replaces the
    data block's sources; a spec without a data block then uses the defaults."""
    errors: list = []
    if arrays is not None and program.data is None:
        program = dataclasses.replace(program, data=DataSpec(pos=program.model.pos))
    prepared = _prepare(program, errors, arrays)
    if errors:
        _raise(errors, program)
    return _build(program, prepared)


def check_data(program: Program) -> list[SpecError]:
    """Every problem with the data files of a program, checked against the model (for `specc check --data`)."""
    errors: list = []
    if program.data is None or (program.data.source is None and program.data.train is None):
        return []  # no data files to check (the data comes from Python)
    prepared = _prepare(program, errors)
    if prepared is not None:
        from ..batches import check_batch_sizes

        roles, xs = prepared[0], prepared[1][0]
        parts = prepared[4]
        n_train = len(parts[0]) if parts is not None else len(xs[roles[0][0]])
        try:
            check_batch_sizes(program, n_train)
        except SpecError as e:
            errors.append(e)
    return _finish_errors(errors, program)
