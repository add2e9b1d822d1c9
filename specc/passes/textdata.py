"""Pass: text sources (`text()`, `sequences()`) checked against the model, statically.

Their windows are the model's input: `context` (`max_len`) tokens must be the
input's T, and the input must take token ids (`input NAME [T] int`). Caught here,
a mismatch is a spec error with a caret instead of a shape error at the first
batch.
"""
from __future__ import annotations

from ..errors import Collector
from ..ir import DataSpec, Model, Source

TEXT_SOURCES = {"text": "context", "sequences": "max_len"}


def check_text_sources(model: Model | None, data: DataSpec | None, errors: Collector) -> None:
    if data is None:
        return
    for src in (data.source, data.train, data.val, data.test):
        if isinstance(src, Source) and src.kind in TEXT_SOURCES:
            _check(src, model, errors)


def _check(src: Source, model: Model | None, errors: Collector) -> None:
    if src.kind == "sequences" and src.args.get("vocab", 20000) < 3:
        errors.add(f"sequences(): vocab={src.args['vocab']} leaves no room for tokens besides <pad> and <unk>",
                   src.pos, "vocab counts every id, <pad> (0) and <unk> (1) included")
    if model is None or not model.inputs:
        return
    key = TEXT_SOURCES[src.kind]
    n = src.args.get(key)
    inp = model.inputs[0]
    if len(model.inputs) != 1:
        errors.add(f"{src.kind}() feeds one input, but the model has {len(model.inputs)}", src.pos)
    elif getattr(inp, "dtype", "float") != "int" or len(inp.shape) != 1:
        errors.add(f"{src.kind}() gives token ids [{key}], but the input `{inp.name}` is "
                   f"[{', '.join(map(str, inp.shape))}]{' int' if getattr(inp, 'dtype', '') == 'int' else ''}",
                   src.pos, f"declare `input {inp.name} [{n}] int`")
    elif n is not None and n != inp.shape[0]:
        errors.add(f"{src.kind}(): {key}={n} but the model input `{inp.name}` takes {inp.shape[0]} tokens", src.pos,
                   f"make them equal: {key}={inp.shape[0]}, or `input {inp.name} [{n}] int`")
