"""Everything the language server knows about a spec, as plain data.

This is the only module of `specc.lsp` that touches the syntax tree, the IR, the
op table and the section tables. The features read what it returns:

  analyse(text, path) -> Analysis     problems, per-statement shapes and parameters,
                                      symbols, definitions and references
  op_doc(name) / op_docs()            signatures and documentation lines of the ops
  section_keys(kind), key_values(kind, key), call_args(kind, key, callee)
                                      what may be written in `data`/`train`
  format_text(text, path)             `specc fmt`'s result, or its refusal

Positions here are 0-based lines and columns (the LSP's), ends exclusive. The front end
is run by `frontend.check_spec` (which reports instead of raising, and gives the model
graph as far as it was built); the IR is read in `_statement_facts` (the graph's layers,
matched back to the statements that made them), the op definitions in `op_doc`/`layer_arg_values`, the
catalog in `key_values`, names in `_occurrences` (from the syntax tree).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .. import syntax as S
from ..errors import Collector, SpecError
from ..frontend import check_spec
from ..ops import INITIALIZERS, LOSSES, METRICS, OPS, OPTIMIZERS, REQUIRED, SCHEDULES, SOURCES
from ..ops.base import Bool, Choice, Init, Pad, fmt_shape, init_text
from ..parser import parse
from ..passes import blocks as block_pass
from ..passes.sections import DATA_KEYS, TRAIN_KEYS
from ..values import show
from .incremental import Incremental

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*|[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|"([^"\\\n]|\\.)*"?')


# ---- the plain data the features use ----------------------------------------

@dataclass(frozen=True)
class Span:
    line: int
    start: int
    end: int

    def contains(self, line: int, column: int) -> bool:
        return line == self.line and self.start <= column <= self.end


@dataclass(frozen=True)
class Problem:
    span: Span
    message: str
    hint: str | None = None
    severity: str = "error"  # "error" | "warning"


@dataclass(frozen=True)
class Use:
    """One layer of the checked model made by a statement (a node of the graph)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    in_shapes: tuple[tuple | None, ...]
    out_shape: tuple | None
    params: tuple[tuple[str, tuple, str, bool], ...] = ()  # (short name, shape, init, trainable)
    inner: int = 0  # parameters of the layers inside (a residual's body)

    @property
    def in_shape(self) -> tuple | None:
        return self.in_shapes[0] if self.in_shapes else None

    @property
    def n_params(self) -> int:
        return sum(math.prod(shape) for _, shape, _, _ in self.params) + self.inner


@dataclass(frozen=True)
class Statement:
    """A statement of a model or block body with what the compiler made of it.

    kind: "input", "layer", "block" (a block use), "residual", "from" or "output". In a model body,
    `uses` are the layers the statement made, in order; in a block body, one per use
    of the block (`in_block` names it).
    """

    span: Span
    end: tuple[int, int]
    kind: str
    op: str
    uses: tuple[Use, ...]
    in_block: str | None = None
    shape: tuple | None = None  # for `input`

    @property
    def n_params(self) -> int:
        return sum(u.n_params for u in self.uses)


@dataclass(frozen=True)
class Occurrence:
    """A name in the text: `key` says what it names ("block:x", "value:x", "param:blk:x")."""

    span: Span
    key: str
    is_definition: bool


@dataclass(frozen=True)
class Symbol:
    name: str
    kind: str  # model | block | section | input | layer | residual | key
    detail: str
    first_line: int
    last_line: int
    selection: Span
    children: tuple = ()


@dataclass(frozen=True)
class OpDoc:
    """A callable thing (layer op, block, optimizer, source...) as shown to the user."""

    name: str
    kind: str
    args: tuple[tuple[str, str | None], ...]  # (name, default as written, or None when required)
    doc: str = ""

    @property
    def signature(self) -> str:
        parts = [a if d is None else f"{a}={d}" for a, d in self.args]
        return f"{self.name}({', '.join(parts)})" if self.args else self.name

    @property
    def snippet(self) -> str:
        """The name with its required arguments as snippet placeholders."""
        required = [a for a, d in self.args if d is None]
        if not required:
            return self.name
        holes = ", ".join(f"${{{i}:{a}}}" for i, a in enumerate(required, 1))
        return f"{self.name}({holes})"


@dataclass
class Analysis:
    """One version of a document, checked. Problems are computed at once (they are
    published after every edit); statements, occurrences and symbols on first use."""

    text: str
    path: str
    problems: list[Problem] = field(default_factory=list)
    parsed: bool = False
    blocks: dict[str, OpDoc] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list, repr=False)
    _checked: tuple | None = field(default=None, repr=False)  # (spec, block table, model graph or None)
    _facts: tuple | None = field(default=None, repr=False)

    @property
    def completed(self) -> bool:
        return self._facts is not None

    def complete(self) -> tuple:
        """(statements, occurrences, symbols), computed once."""
        if self._facts is None:
            if self._checked is None:
                self._facts = ([], [], [])
            else:
                spec, table, model = self._checked
                statements = _statement_facts(spec, table, model, self.lines)
                self._facts = (statements, _occurrences(spec, table, self.lines), _symbols(spec, statements, self.lines))
        return self._facts

    @property
    def statements(self) -> list[Statement]:
        return self.complete()[0]

    @property
    def occurrences(self) -> list[Occurrence]:
        return self.complete()[1]

    @property
    def symbols(self) -> list[Symbol]:
        return self.complete()[2]

    def occurrence_at(self, line: int, column: int) -> Occurrence | None:
        return next((o for o in self.occurrences if o.span.contains(line, column)), None)

    def statement_at(self, line: int, column: int) -> Statement | None:
        return next((s for s in self.statements if s.span.contains(line, column)), None)

    def occurrences_of(self, key: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == key]


# ---- analyse -------------------------------------------------------------------

def analyse(text: str, path: str = "<string>", incremental: Incremental | None = None) -> Analysis:
    """Parse and check `text` once; collect everything the features need.

    `incremental` (one per open document) re-parses only the pieces that changed since its
    last text and re-checks only what they can change (see specc.lsp.incremental).
    """
    result = Analysis(text, path, lines=text.split("\n"))
    try:
        spec = incremental.parser.parse(text) if incremental is not None else parse(text, path)
    except SpecError as e:
        result.problems = [_problem(result.lines, e)]
        return result
    result.parsed = True
    model, program, errors = None, None, []
    try:
        checked = check_spec(spec, incremental.reuse if incremental is not None else None)
        model, program, errors = checked.model, checked.program, checked.errors
    except SpecError as e:
        errors = [e]
    result.problems = [_problem(result.lines, e, path=path) for e in errors]
    if program is not None:
        result.problems += [_problem(result.lines, e, "warning", path) for e in _warnings(program)]
    table = block_pass.collect_blocks(spec, Collector(text))
    result.blocks = {name: OpDoc(name, "block", tuple((p.name, None if p.default is None else show(p.default))
                                                      for p in b.params), f"block defined at line {b.pos.line}")
                     for name, b in table.items()}
    result._checked = (spec, table, model)
    return result


def _warnings(program) -> list:
    """The front end's warnings (e.g. a value never used) and ops ONNX cannot export."""
    found = list(getattr(program, "warnings", ()))
    try:
        from ..backends.onnx.support import unexportable
    except ImportError:
        return found
    return found + list(unexportable(program))


def _problem(lines: list[str], e: SpecError, severity: str = "error", path: str | None = None) -> Problem:
    """A problem at its token; one without a place in this file goes on the first line."""
    pos = e.pos
    if pos is None or not pos.line:
        return Problem(Span(0, 0, 0), e.message, e.hint, severity)
    if path is not None and pos.file != path:  # e.g. a row of a data file
        return Problem(Span(0, 0, 0), f"{pos}: {e.message}", e.hint, severity)
    return Problem(token_span(lines, pos.line - 1, max(pos.column - 1, 0)), e.message, e.hint, severity)


def token_span(lines: list[str], line: int, column: int) -> Span:
    """The word, number or string starting at (line, column); one character otherwise."""
    if line >= len(lines):
        line = max(len(lines) - 1, 0)
        column = len(lines[line]) if lines else 0
    text = lines[line].rstrip("\r") if lines else ""
    m = _TOKEN_RE.match(text, column)
    if m and m.end() > column:
        return Span(line, column, m.end())
    return Span(line, column, min(column + 1, len(text)) if column < len(text) else column)


def _span(lines, pos, length: int) -> Span:
    return Span(pos.line - 1, pos.column - 1, pos.column - 1 + length)


def _name_after(lines, pos, keyword: str, name: str) -> Span:
    """The span of `name` following `keyword` at pos (`block NAME`, `model NAME`, `input NAME`)."""
    line = lines[pos.line - 1] if 0 < pos.line <= len(lines) else ""
    m = re.compile(rf"{keyword}\s+({re.escape(name)})\b").search(line, max(pos.column - 1, 0))
    if m:
        return Span(pos.line - 1, m.start(1), m.end(1))
    return Span(pos.line - 1, pos.column - 1, pos.column - 1 + len(keyword))


def statement_end(lines: list[str], line: int, column: int) -> tuple[int, int]:
    """Where a statement starting at (line, column) ends: before `;`, a comment or the line end.

    Brackets opened in the statement may wrap lines; strings are skipped.
    """
    depth, in_string = 0, False
    while line < len(lines):
        text = lines[line].rstrip("\r")
        end = len(text)
        i = column
        while i < len(text):
            ch = text[i]
            if in_string:
                in_string = not (ch == '"' and text[i - 1] != "\\")
            elif ch == '"':
                in_string = True
            elif ch in "([":
                depth += 1
            elif ch in ")]":
                depth -= 1
            elif depth <= 0 and ch in ";#{":
                end = i
                break
            i += 1
        if depth <= 0 or line + 1 >= len(lines):
            return line, len(text[:end].rstrip())
        line, column = line + 1, 0
    return line, column


# ---- statements: shapes and parameters per line ---------------------------------

def _use(layer, inner: int = 0) -> Use:
    return Use(layer.name, layer.op, tuple(layer.inputs), tuple(tuple(s) if s else None for s in layer.in_shapes),
               tuple(layer.out_shape) if layer.out_shape else None,
               tuple((p.name, tuple(p.shape), _init_text(p), p.trainable) for p in layer.params), inner)


def _init_text(p) -> str:
    return init_text(p.init, p.init_args)


def _expected_layers(stmt, table) -> int:
    """How many graph layers a block use makes (a residual is its body plus an `add`)."""
    return _count_layers(block_pass.expand((stmt,), table, Collector()))


# No recursive closures in this module: each is a reference cycle that keeps a whole analysis
# alive until the cycle collector runs, and the server analyses on every keystroke.
def _count_layers(items) -> int:
    n = 0
    for item, _scope in items:
        if isinstance(item, S.LayerUse):
            n += 1
        elif isinstance(item, S.Residual):
            n += 1 + _count_layers(item.body)
    return n


class _Matcher:
    """Walks a model body in the order the graph was built, taking each statement's layers.

    Layers come in source order; a residual's body comes before its `add`. A layer or
    residual statement owns the layer at its own position; a block use owns the next
    layers that sit inside block bodies, as many as its expansion makes.
    """

    def __init__(self, built, table, lines, block_lines):
        self.built, self.table, self.lines, self.block_lines = built, table, lines, block_lines
        self.at = 0
        self.out: list[Statement] = []

    def _take_at(self, pos):
        if self.at < len(self.built) and self.built[self.at].pos == pos:
            self.at += 1
            return [self.built[self.at - 1]]
        return []

    def _in_block(self, layer) -> bool:
        return any(a <= layer.pos.line <= b for a, b in self.block_lines)

    def walk(self, body) -> None:
        for stmt in body:
            line, col = stmt.pos.line - 1, stmt.pos.column - 1
            if isinstance(stmt, S.Residual):
                start = self.at
                self.walk(stmt.body)
                inner = sum(_use(l).n_params for l in self.built[start:self.at])
                made = self._take_at(stmt.pos)
                self.out.append(Statement(Span(line, col, col + len("residual")), (line, col + len("residual")),
                                          "residual", "residual", tuple(_use(l, inner) for l in made)))
            elif isinstance(stmt, S.LayerUse):
                if stmt.op in OPS:
                    made, kind = self._take_at(stmt.pos), "layer"
                else:
                    made, kind, n = [], "block", _expected_layers(stmt, self.table)
                    while len(made) < n and self.at < len(self.built) and self._in_block(self.built[self.at]):
                        made.append(self.built[self.at])
                        self.at += 1
                self.out.append(Statement(_span(self.lines, stmt.pos, len(stmt.op)),
                                          statement_end(self.lines, line, col), kind, stmt.op,
                                          tuple(_use(l) for l in made)))


def _block_facts(decl, body, by_pos, lines, out: list) -> None:
    """Statements of a block body: one Use per place the block is used."""
    for stmt in body:
        if isinstance(stmt, S.Residual):
            _block_facts(decl, stmt.body, by_pos, lines, out)
        if isinstance(stmt, (S.LayerUse, S.Residual)):
            made = by_pos.get((stmt.pos.line, stmt.pos.column), [])
            word = stmt.op if isinstance(stmt, S.LayerUse) else "residual"
            kind = "residual" if isinstance(stmt, S.Residual) else "layer" if stmt.op in OPS else "block"
            end = statement_end(lines, stmt.pos.line - 1, stmt.pos.column - 1) if kind != "residual" else \
                (stmt.pos.line - 1, stmt.pos.column - 1 + len(word))
            out.append(Statement(_span(lines, stmt.pos, len(word)), end, kind, word,
                                 tuple(_use(l) for l in made), in_block=decl.name))


def _statement_facts(spec: S.SpecFile, table, model, lines) -> list[Statement]:
    """Every statement with what the compiler made of it. `model` is the graph as far as the
    front end built it (check_spec's), so the lines before an error still show their shapes."""
    out: list[Statement] = []
    if len(spec.models) != 1 or model is None:
        return out
    decl = spec.models[0]
    built, inputs = model.layers, model.inputs
    shapes = {i.name: i.shape for i in inputs}
    for stmt in decl.body:
        if isinstance(stmt, S.InputDecl):
            line, col = stmt.pos.line - 1, stmt.pos.column - 1
            out.append(Statement(Span(line, col, col + len("input")), statement_end(lines, line, col),
                                 "input", "input", (), shape=shapes.get(stmt.name or "input")))
    matcher = _Matcher(built, table, lines, [(b.pos.line, b.end_line) for b in table.values()])
    matcher.walk([s for s in decl.body if not isinstance(s, S.InputDecl)])
    out += matcher.out
    by_pos: dict = {}
    for layer in built:
        by_pos.setdefault((layer.pos.line, layer.pos.column), []).append(layer)
    for b in table.values():
        _block_facts(b, b.body, by_pos, lines, out)
    return out


# ---- names: blocks, named values, block parameters ------------------------------

def _values_in(value):
    """Every NameV inside a value."""
    if isinstance(value, S.NameV):
        yield value
    elif isinstance(value, S.ListV):
        for v in value.items:
            yield from _values_in(v)
    elif isinstance(value, S.CallV):
        for v in value.args:
            yield from _values_in(v)
        for k in value.kwargs:
            yield from _values_in(k.value)


def _given_name(stmt: S.LayerUse):
    """The `name="..."` literal of a layer or block use, if it is a valid name."""
    for k in stmt.kwargs:
        v = k.value
        if k.name == "name" and isinstance(v, S.Lit) and isinstance(v.value, str) and NAME_RE.match(v.value):
            return v
    return None


def _key_in_map(lines, pos, key: str) -> Span | None:
    """Where `key:` is written in the map that opens at pos (the syntax tree keeps no key positions)."""
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(key)}\s*:")
    for line in range(pos.line - 1, min(pos.line + 20, len(lines))):
        m = pattern.search(lines[line], pos.column - 1 if line == pos.line - 1 else 0)
        if m:
            return Span(line, m.start(), m.start() + len(key))
    return None


def _occurrences(spec: S.SpecFile, table, lines) -> list[Occurrence]:
    """Definitions and references of names, from the syntax tree.

    Keys: `block:B`, `param:B:p` (a block's parameter), `value:v` (an input, a layer or
    block use with `name="v"`), `local:B:v` (a name given inside block B: local to each
    use), `output:o` (`output o`, and the keys of `train` maps naming outputs: loss, metrics).
    The keys of `scale = {image: ...}` / `standardize = {...}` are references to the input.
    References: block uses, `from v`, names passed as arguments (merges: `add(a, b)`).
    """
    index = _Names(table, lines)
    for b in table.values():
        index.out.append(Occurrence(_name_after(lines, b.pos, "block", b.name), f"block:{b.name}", True))
        for p in b.params:
            index.out.append(Occurrence(_span(lines, p.pos, len(p.name)), f"param:{b.name}:{p.name}", True))
    for item in spec.items:
        if isinstance(item, S.ModelDecl):
            index.defs(item.body, None)
        elif isinstance(item, S.BlockDecl) and table.get(item.name) is item:
            index.defs(item.body, item.name)
    for item in spec.items:
        if isinstance(item, S.ModelDecl):
            index.refs(item.body, None)
        elif isinstance(item, S.BlockDecl) and table.get(item.name) is item:
            index.refs(item.body, item)
        elif isinstance(item, S.Section):  # `loss = {digit: ...}` names outputs, `scale = {image: ...}` inputs
            for a in item.assigns:
                if isinstance(a.value, S.MapV):
                    names_inputs = item.kind == "data" and a.key in ("scale", "standardize")
                    for key, _value in a.value.items:
                        span = _key_in_map(lines, a.value.pos, key)
                        if span and names_inputs and key in index.names[None]:
                            index.out.append(Occurrence(span, f"value:{key}", False))
                        elif span and not names_inputs and key in index.outputs:
                            index.out.append(Occurrence(span, f"output:{key}", False))
    return index.out


class _Names:
    """The names defined in the model and in each block, and every occurrence found so far."""

    def __init__(self, table, lines):
        self.table, self.lines = table, lines
        self.out: list[Occurrence] = []
        self.names: dict[str | None, set] = {None: set()}  # block name (None: the model) -> names defined there
        self.outputs: set = set()

    def defs(self, body, block) -> None:
        lines, out = self.lines, self.out
        prefix = f"local:{block}:" if block else "value:"
        for stmt in body:
            if isinstance(stmt, S.Residual):
                self.defs(stmt.body, block)
            elif isinstance(stmt, S.InputDecl) and stmt.name and not block:
                self.names[None].add(stmt.name)
                out.append(Occurrence(_name_after(lines, stmt.pos, "input", stmt.name), prefix + stmt.name, True))
            elif isinstance(stmt, S.OutputStmt) and stmt.name and not block:
                self.outputs.add(stmt.name)
                out.append(Occurrence(_name_after(lines, stmt.pos, "output", stmt.name), f"output:{stmt.name}", True))
            elif isinstance(stmt, S.LayerUse) and (lit := _given_name(stmt)):
                self.names.setdefault(block, set()).add(lit.value)
                span = Span(lit.pos.line - 1, lit.pos.column, lit.pos.column + len(lit.value))  # inside the quotes
                out.append(Occurrence(span, prefix + lit.value, True))

    def key_of(self, name: str, block: S.BlockDecl | None) -> str | None:
        if block is not None and any(p.name == name for p in block.params):
            return f"param:{block.name}:{name}"
        if block is not None and name in self.names.get(block.name, ()):
            return f"local:{block.name}:{name}"
        return f"value:{name}" if name in self.names[None] else None

    def refs(self, body, block) -> None:
        lines, out = self.lines, self.out
        for stmt in body:
            if isinstance(stmt, S.Residual):
                self.refs(stmt.body, block)
            elif isinstance(stmt, S.FromStmt) and (key := self.key_of(stmt.name, block)):
                out.append(Occurrence(_name_after(lines, stmt.pos, "from", stmt.name), key, False))
            elif isinstance(stmt, S.LayerUse):
                if stmt.op in self.table:
                    out.append(Occurrence(_span(lines, stmt.pos, len(stmt.op)), f"block:{stmt.op}", False))
                values = list(stmt.args) + [k.value for k in stmt.kwargs if k.name != "name"]
                for n in (n for v in values for n in _values_in(v)):
                    if key := self.key_of(n.id, block):
                        out.append(Occurrence(_span(lines, n.pos, len(n.id)), key, False))


# ---- symbols: the outline --------------------------------------------------------

def _body_symbols(body, by_span: dict, lines) -> list[Symbol]:
    out = []
    for stmt in body:
        line = stmt.pos.line - 1
        if isinstance(stmt, S.InputDecl):
            fact = by_span.get((line, stmt.pos.column - 1))
            shape = fmt_shape(fact.shape) if fact and fact.shape else show(stmt.shape)
            out.append(Symbol(stmt.name or "input", "input", shape, line, line,
                              Span(line, stmt.pos.column - 1, stmt.pos.column - 1 + len("input"))))
        elif isinstance(stmt, S.Residual):
            fact = by_span.get((line, stmt.pos.column - 1))
            name = fact.uses[0].name if fact and fact.uses else "residual"
            out.append(Symbol(name, "residual", "residual", line, max(stmt.end_line - 1, line),
                              Span(line, stmt.pos.column - 1, stmt.pos.column - 1 + len("residual")),
                              tuple(_body_symbols(stmt.body, by_span, lines))))
        elif isinstance(stmt, S.OutputStmt):
            out.append(Symbol(stmt.name or "output", "output", "output", line, line,
                              Span(line, stmt.pos.column - 1, stmt.pos.column - 1 + len("output"))))
        elif isinstance(stmt, S.LayerUse):
            fact = by_span.get((line, stmt.pos.column - 1))
            names = [u.name for u in fact.uses] if fact and not fact.in_block else []
            shape = fmt_shape(fact.uses[-1].out_shape) if fact and fact.uses and fact.uses[-1].out_shape else ""
            name = names[0] if len(names) == 1 else stmt.op
            detail = " ".join(x for x in (stmt.op if name != stmt.op else "", shape) if x)
            out.append(Symbol(name, "layer", detail, line, line, _span(lines, stmt.pos, len(stmt.op))))
    return out


def _symbols(spec: S.SpecFile, statements: list[Statement], lines) -> list[Symbol]:
    by_span = {(s.span.line, s.span.start): s for s in statements}
    out = []
    for item in spec.items:
        first, last = item.pos.line - 1, max(item.end_line - 1, item.pos.line - 1)
        if isinstance(item, S.ModelDecl):
            out.append(Symbol(item.name, "model", "model", first, last, _name_after(lines, item.pos, "model", item.name),
                              tuple(_body_symbols(item.body, by_span, lines))))
        elif isinstance(item, S.BlockDecl):
            params = ", ".join(p.name for p in item.params)
            out.append(Symbol(item.name, "block", f"block({params})", first, last,
                              _name_after(lines, item.pos, "block", item.name),
                              tuple(_body_symbols(item.body, by_span, lines))))
        elif isinstance(item, S.Section):
            keys = tuple(Symbol(a.key, "key", show(a.value), a.pos.line - 1, a.pos.line - 1,
                                _span(lines, a.pos, len(a.key))) for a in item.assigns)
            out.append(Symbol(item.kind, "section", "", first, last, _span(lines, item.pos, len(item.kind)), keys))
    return out


# ---- ops and section tables --------------------------------------------------------

def _default_text(value) -> str | None:
    if value is REQUIRED:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return str(value)


def op_doc(name: str) -> OpDoc | None:
    """An op's signature and documentation line, from its definition. A merge's first
    arguments are the values it merges (`add(a, b)`)."""
    op = OPS.get(name)
    if op is None:
        return None
    args = tuple((a.name, None if a.required else _default_text(a.default)) for a in op.args)
    if op.kind == "merge":
        args = (("a", None), ("b", None)) + args
    return OpDoc(name, op.kind, args, op.doc)


def op_docs() -> list[OpDoc]:
    return [op_doc(name) for name in OPS]


def section_keys(kind: str) -> tuple[str, ...]:
    return {"data": DATA_KEYS, "train": TRAIN_KEYS}.get(kind, ())


def _table_docs(table: dict, kind: str) -> list[OpDoc]:
    return [OpDoc(name, kind, tuple((a, _default_text(d)) for a, d in args.items())) for name, args in table.items()]


def _source_docs() -> list[OpDoc]:
    return [OpDoc(name, "source", tuple((a, _default_text(d)) for a, _, d in args)) for name, args in SOURCES.items()]


_BOOL = [OpDoc("true", "value", ()), OpDoc("false", "value", ())]


def key_values(kind: str, key: str) -> list[OpDoc]:
    """The values allowed after `key =` in a `data` or `train` section."""
    if kind == "train":
        if key == "loss":
            return [OpDoc(n, "loss", tuple((a, _default_text(d)) for a, d in args.items()),
                          f"expects the model to end in {last}" if last else "") for n, (args, last) in LOSSES.items()]
        if key == "optimizer":
            return _table_docs(OPTIMIZERS, "optimizer")
        if key == "schedule":
            return _table_docs(SCHEDULES, "schedule")
        if key == "metrics":
            return _table_docs(METRICS, "metric")
        if key == "early_stop":
            return [OpDoc("patience", "rule", (("k", None), ("monitor", "val_loss"), ("min_delta", "0.0")))]
    if kind == "data":
        if key in ("source", "train", "test", "val"):
            return _source_docs()
        if key in ("standardize", "shuffle"):
            return _BOOL
        if key == "target":
            return [OpDoc("input", "value", (), "an autoencoder: the target is the input")]
    return []


def call_args(kind: str, key: str | None, callee: str, analysis: Analysis | None = None) -> list[tuple[str, str | None]]:
    """Argument names of `callee(...)`: a layer op or block in a body, a table entry in a section."""
    if kind in ("model", "block", "residual"):
        doc = op_doc(callee) or (analysis.blocks.get(callee) if analysis else None)
        args = list(doc.args) if doc else []
        if doc and doc.kind != "block":
            args.append(("name", f'"{callee}_<n>"'))
        return args
    for doc in key_values(kind, key or ""):
        if doc.name == callee:
            return list(doc.args)
    return []


def layer_arg_values(op: str, arg: str) -> list[str]:
    """Named values an op's argument takes (`init=`, `pad=`, booleans, choices)."""
    definition = OPS.get(op)
    a = definition.arg(arg) if definition else None
    if a is None:
        return []
    if isinstance(a.type, Init):
        return ["auto", *INITIALIZERS]
    if isinstance(a.type, Pad):
        return ["same", "valid"]
    if isinstance(a.type, Bool):
        return ["true", "false"]
    if isinstance(a.type, Choice):
        return list(a.type.options)
    return []


# ---- formatting -----------------------------------------------------------------------

def format_text(text: str, path: str = "<string>") -> str:
    """`specc fmt`'s canonical text; raises SpecError/SpecErrors where fmt refuses."""
    from ..commands.fmt import format_spec_text

    return format_spec_text(text, path)
