"""Spec text -> checked Program: the parser followed by the passes.

    compile_file("model.nn", overrides=["train.epochs=5"]) -> Program

All independent errors of a file are collected and raised together as
SpecErrors (the first syntax error stops parsing, since nothing after it has
a reliable meaning).
"""
from __future__ import annotations

import os
import weakref
from dataclasses import dataclass, replace

from . import syntax as S
from .errors import Collector, SpecError, SpecErrors
from .ir import Input, Model, Pos, Program
from .parser import decode, parse, parse_override
from .passes import blocks, graph, layers, sections, textdata
from .passes.memo import StatementMemo
from .values import as_int

MAX_SPEC_BYTES = 16 * 1024 * 1024  # larger than any real spec; refuse before parsing


def apply_overrides(spec: S.SpecFile, overrides) -> S.SpecFile:
    """`--set train.epochs=5` replaces (or adds) that key in its section.

    `epochs` and `steps` replace each other: `--set train.steps=10` on a spec
    with `epochs = 30` trains 10 steps.
    """
    items = list(spec.items)
    all_text = "\n".join(o for o in overrides if isinstance(o, str))
    for index, text in enumerate(overrides, 1):
        o = text if isinstance(text, S.Override) else parse_override(text, index, all_text)
        assign = S.Assign(o.key, o.value, o.pos)
        replaces = {o.key} | ({"epochs", "steps"} if o.key in ("epochs", "steps") else set())
        for i, item in enumerate(items):
            if isinstance(item, S.Section) and item.kind == o.section:
                kept = tuple(a for a in item.assigns if a.key not in replaces)
                items[i] = replace(item, assigns=kept + (assign,))
                break
        else:
            items.append(S.Section(o.section, (assign,), o.pos))
    return replace(spec, items=tuple(items))


def _one(items, what: str, errors: Collector):
    if len(items) > 1:
        errors.add(f"a spec has one {what}; this one has {len(items)} (another at line {items[0].pos.line})",
                   items[1].pos)
    return items[0] if items else None


def _inputs(decl: S.ModelDecl, errors: Collector):
    """The model's `input` statements (they come first), and the statements after them."""
    body = list(decl.body)
    n = 0
    while n < len(body) and isinstance(body[n], S.InputDecl):
        n += 1
    if n == 0:
        errors.add(f"model `{decl.name}` must start with `input [shape]`", decl.pos, "e.g. `input image [784]`")
        return None, [b for b in body if not isinstance(b, S.InputDecl)]
    inputs, ok, seen = [], True, set()
    for inp in body[:n]:
        name = inp.name or "input"
        if name in seen:
            errors.add(f"input `{name}` is declared twice", inp.pos)
        seen.add(name)
        try:
            inputs.append(Input(name, _input_shape(inp), _input_dtype(inp), inp.pos))
        except SpecError as e:
            errors.extend([e])
            ok = False
    return (inputs if ok else None), body[n:]


def _input_shape(inp: S.InputDecl) -> tuple[int, ...]:
    dims = tuple(as_int(d, "an input dimension", lo=1) for d in inp.shape.items)
    if not dims:
        raise SpecError("the input shape needs at least one dimension", inp.shape.pos)
    if inp.dtype == "int" and len(dims) != 1:
        raise SpecError(f"token input {layers.fmt_shape(dims)} must be one sequence of token ids: [T]",
                        inp.shape.pos, f"write `input {inp.name or 'input'} [{dims[-1]}] int`")
    if len(dims) > 3:
        raise SpecError(f"input shape {layers.fmt_shape(dims)} is not supported; use [features], "
                        "[time, features] or [channels, height, width]", inp.shape.pos)
    return dims


def _input_dtype(inp: S.InputDecl) -> str:
    if inp.dtype in (None, "float"):
        return "float"
    if inp.dtype == "int":
        return "int"
    raise SpecError(f"unknown input type `{inp.dtype}`", inp.pos, "write `int` for token ids, or nothing for float")


@dataclass
class Checked:
    """Everything the passes found in a spec: what `check_spec` returns.

    program: the checked Program, or None when there are errors. model: the model graph as
    far as it could be built (with errors, the layers whose inputs are known, with their
    shapes and parameters). errors: every independent error, each once; warnings likewise.
    """

    program: Program | None
    model: Model | None
    errors: list
    warnings: list


def check_spec(spec: S.SpecFile, reuse: "Reuse | None" = None) -> Checked:
    """Run every pass over a parsed spec and report, never raise: for tools that show a spec
    with errors, such as the language server (its shapes before the first error, all messages).

    `reuse` (one per edited document) keeps what the previous check of that document
    computed: the whole model when neither it nor a block changed (an edit to `data` or
    `train`), else each statement's checked arguments when that statement did not change.
    The parser must hand back the same statement objects for unchanged text, as the
    language server's incremental parser does; a new object is simply checked again.
    """
    if reuse is not None:
        reuse.next_check()
    errors = Collector(spec.text)
    decl = _one(spec.models, "model", errors)
    data_sec = _one(spec.sections("data"), "`data` block", errors)
    train_sec = _one(spec.sections("train"), "`train` block", errors)
    if decl is None:
        errors.add("no `model NAME { ... }` in this spec", Pos(spec.path, 1, 1))
        return Checked(None, None, _unique(errors.errors), [])

    block_table = blocks.collect_blocks(spec, errors)
    model, model_ok = _check_model(decl, block_table, errors, reuse)

    spec_dir = os.path.dirname(os.path.abspath(spec.path)) if not spec.path.startswith("<") else os.getcwd()
    data = sections.resolve_data(data_sec, spec_dir, errors)
    data = sections.resolve_prep(model if model_ok else None, data, errors)
    # Checks of the loss against the last layer only make sense for a model without errors.
    train = sections.resolve_train(train_sec, model if model_ok else None, data, errors, spec_dir)
    sections.check_classes(model if model_ok else None, data, errors)
    textdata.check_text_sources(model if model_ok else None, data, errors)
    if errors.errors:
        return Checked(None, model, _unique(errors.errors), list(errors.warnings))
    program = Program(model, data, train, spec.path, spec.text, tuple(errors.warnings))
    _CHECKED[id(program)] = program
    return Checked(program, model, [], list(errors.warnings))


def _unique(errors: list) -> list:
    """Each error once (a block used twice reports its error once)."""
    return list({(e.pos, e.message): e for e in errors}.values())


def _check_model(decl: S.ModelDecl, block_table: dict, errors: Collector, reuse) -> tuple[Model, bool]:
    """The model graph, and whether it has no errors of its own; errors and warnings go to `errors`."""
    key = None
    if reuse is not None:
        key = (decl.name, decl.pos, tuple(map(id, decl.body)), tuple(map(id, block_table.values())),
               bool(errors.errors))
        hit = reuse.model_for(key)
        if hit is not None:
            model, ok, found, warned = hit
            errors.extend(found)
            errors.warnings.extend(warned)
            return model, ok
    mark, warn_mark = len(errors.errors), len(errors.warnings)
    inputs, body = _inputs(decl, errors)
    if not body:
        errors.add(f"model `{decl.name}` has no layers", decl.pos)
    errors_before = len(errors.errors)
    memo = reuse.statements if reuse is not None else None
    input_decls = tuple(decl.body[:len(decl.body) - len(body)])
    built, outputs, state = graph.build_model(inputs or None, input_decls, tuple(body), block_table, errors, memo,
                                              reuse.graph if reuse is not None else None)
    if reuse is not None:
        reuse.graph = state
    model = Model(decl.name, tuple(inputs or ()), built, outputs, decl.pos)
    ok = inputs is not None and len(errors.errors) == errors_before
    if reuse is not None:
        reuse.keep_model(key, decl, block_table, (model, ok, errors.errors[mark:], errors.warnings[warn_mark:]))
    return model, ok


class Reuse:
    """What the last check of one document computed, for the next check to reuse.

    Keyed by the identity of syntax nodes, holding those nodes (so an id is not reused while
    its entry lives); each check keeps only what it used, so memory stays flat over edits.
    `models_computed` and `statements.computed` count the work done afresh (for the tests).
    """

    def __init__(self):
        self._model: tuple | None = None  # (key, nodes kept alive, result)
        self.statements = StatementMemo()
        self.graph = None  # passes/graph.py's state after the last model built
        self.models_computed = 0

    def model_for(self, key):
        """The last check's (model, ok, errors, warnings) if it was made from the same nodes."""
        if self._model is not None and self._model[0] == key:
            self.statements.keep_all()
            return self._model[2]
        return None

    def keep_model(self, key, decl, block_table, result) -> None:
        self.models_computed += 1
        self._model = (key, (decl, tuple(block_table.values())), result)

    def next_check(self) -> None:
        """check_spec calls it first: what the previous check did not use is dropped after this one."""
        self.statements.next_version()


def build_program(spec: S.SpecFile) -> Program:
    """Run every pass over a parsed spec; raises SpecErrors with all independent errors."""
    checked = check_spec(spec)
    if checked.errors:
        raise SpecErrors(checked.errors)
    return checked.program


# Programs the front end built (by identity): check_program trusts these and re-checks anything else.
_CHECKED: "weakref.WeakValueDictionary[int, Program]" = weakref.WeakValueDictionary()


def check_program(program: Program) -> Program:
    """The one checker for an IR built by hand (or edited with dataclasses.replace).

    A program the front end built is returned as is. Any other is printed to
    spec text and compiled again, so it passes exactly the checks a spec file
    does; it must compile to itself, else the difference is an error.
    """
    if _CHECKED.get(id(program)) is program:
        return program
    from .printer import format_program

    text = format_program(program)
    checked = compile_text(text, program.path if program.path.startswith("<") else "<program>")
    if checked.model != program.model or checked.data != program.data or checked.train != program.train:
        raise SpecErrors([SpecError("the program is not what its own spec text compiles to (a hand-built IR "
                                    "with an inconsistent shape, name or default)", Pos(program.path),
                                    "build programs with specc.compile or frontend.compile_text")])
    return program


def compile_text(text: str, path: str = "<string>", overrides=()) -> Program:
    """Parse and check spec text; `path` is used in messages and to resolve data paths."""
    spec = parse(text, path)
    try:
        spec = apply_overrides(spec, overrides)
        return build_program(spec)
    except SpecError as e:
        raise SpecErrors([e]) from None
    except SpecErrors as e:
        _show_overrides(e.errors, overrides)
        raise


def _show_overrides(errors, overrides) -> None:
    """Errors inside a --set value show that override, not the spec's line."""
    text = "\n".join(o for o in overrides if isinstance(o, str))
    for err in errors:
        if err.pos is not None and err.pos.file == "--set":
            err.source = text


def read_spec(path: str) -> str:
    """A spec file's text, with clear errors for a missing, huge or non-UTF-8 file."""
    if not os.path.exists(os.path.expanduser(path)):
        raise SpecError(f"no such file: {os.path.abspath(path)}")
    from .files import regular_file

    path = regular_file(path, "spec (.nn file)")  # a FIFO or device would block or never end
    size = os.path.getsize(path)
    if size > MAX_SPEC_BYTES:
        raise SpecError(f"{path} is {size} bytes; a spec is at most {MAX_SPEC_BYTES} bytes")
    with open(path, "rb") as f:
        return decode(f.read(), path)


def compile_file(path: str, overrides=()) -> Program:
    return compile_text(read_spec(path), path, overrides)
