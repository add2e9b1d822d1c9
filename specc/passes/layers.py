"""Pass: model statements -> the model graph: named layers over named values, with shapes and parameters.

Steps, each small:
  resolve_args   bind a layer call to its op definition; every argument checked, defaults filled
  assign_names   user names (block-local ones prefixed by the use) first, then `<op>_<n>` defaults
  GraphBuilder   wire the chain into a DAG: the current value flows into each layer, `from NAME`
                 moves it, merges name their inputs, `residual { }` becomes an `add`; shapes come
                 from each op's shape rule
  with_params    then parameters (with `init=auto` resolved from the activation that follows)
passes/graph.py runs these steps statement by statement (so an editor's next check can start
at the first statement that changed).
Independent errors are all collected; after a shape error the values depending on it get their
arguments checked, but not their shapes.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from .. import syntax as S
from ..errors import Collector, SpecError, did_you_mean
from ..ir import Input, Layer, Output, Pos, Shape
from ..ops import OPS
from ..ops.base import Init, ShapeCtx, fmt_shape
from ..values import as_str, bind, is_value, show
from .blocks import Alias
from .memo import StatementMemo

# A layer name; dotted parts are a block use's local names ("res_1.main", as spec.nn prints them).
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

__all__ = ["fmt_shape", "resolve_args", "resolve_all", "infer_shape", "assign_names", "check_user_names", "default_names",
           "GraphBuilder", "consumers_of", "init_choices", "with_params", "RawLayer"]


@dataclass
class RawLayer:
    """A layer call with checked attributes, before shapes are known."""

    op: str
    attrs: dict
    name: str | None  # user-given (scope-qualified) name, or None until assign_names
    pos: Pos
    body: list | None = None          # residual: its statements
    refs: tuple = ()                  # merge: the value names it takes (NameV)
    scope: tuple = ()                 # block uses it sits in
    user_named: bool = False
    source: "RawLayer | None" = None  # the memo's copy this one was made from (an editor's checks)
    # Its arguments have an error: it is not in the graph, but takes its default name, so the layers
    # after it keep theirs while the user fixes it (the editor's hints do not renumber, and its
    # next check can stop where the chain is the same as before: passes/graph.py).
    broken: bool = False


@dataclass
class Values:
    """What is known about every value while the chain is wired."""

    shapes: dict = field(default_factory=dict)      # name -> shape, or None after an error
    dtypes: dict = field(default_factory=dict)
    defined_at: dict = field(default_factory=dict)  # name -> Pos (messages)
    uses: list = field(default_factory=list)        # every use of a value, in order (repeats too)


# ---- arguments ---------------------------------------------------------------------------------

def resolve_args(use: S.LayerUse, scope: tuple = ()) -> RawLayer:
    """Bind a layer call to its op definition; every attribute checked, defaults filled."""
    op = OPS[use.op]
    kwargs = [k for k in use.kwargs if k.name != "name"]
    name = None
    for k in use.kwargs:
        if k.name == "name":
            name = as_str(k.value, "a layer name")
            if not NAME_RE.match(name):
                raise SpecError(f"layer name \"{name}\" must be letters, digits and `_`, starting with a letter",
                                k.value.pos)
    refs: tuple = ()
    args = use.args
    if op.kind == "merge":
        refs, args = _merge_refs(use)
    _keras_activation_hint(use)
    table = {a.name: a.default for a in op.args}
    bound = bind(use.op, args, tuple(kwargs), table, "layer", use.pos)
    attrs = {}
    for arg in op.args:
        value = bound[arg.name]
        attrs[arg.name] = arg.type.check(value, f"{use.op}'s `{arg.name}`") if is_value(value) \
            else arg.type.from_default(value)
    qualified = ".".join(scope + (name,)) if name else None
    return RawLayer(use.op, attrs, qualified, use.pos, refs=refs, scope=scope, user_named=bool(name))


def _merge_refs(use: S.LayerUse):
    """A merge's positional arguments are the values it takes: at least two names."""
    refs = []
    for a in use.args:
        if isinstance(a, S.Lit) and isinstance(a.value, str) and a.value:  # "use.name": a block-local value
            a = S.NameV(a.value, a.pos)
        if not isinstance(a, S.NameV):
            raise SpecError(f"`{use.op}` takes the names of the values it merges, got `{show(a)}`", a.pos,
                            f"e.g. `{use.op}(a, b)` with `name=\"a\"` and `name=\"b\"` on earlier layers")
        refs.append(a)
    if len(refs) < 2:
        raise SpecError(f"`{use.op}` merges at least two values, got {len(refs)}", use.pos,
                        f"e.g. `{use.op}(a, b)`")
    return tuple(refs), ()


def _keras_activation_hint(use: S.LayerUse) -> None:
    """`dense(32, activation=relu)`: activations are layers of their own; show the two-line form."""
    for k in use.kwargs:
        if k.name == "activation":
            act = show(k.value).strip('"')
            rest = [show(a) for a in use.args] + [f"{x.name}={show(x.value)}" for x in use.kwargs
                                                  if x.name != "activation"]
            raise SpecError(f"`{use.op}` has no `activation` argument: activations are layers of their own",
                            k.pos, f"write `{use.op}({', '.join(rest)}); {act}` (or the two on separate lines)")


def _reused(memo: StatementMemo, use: S.LayerUse, scope: tuple) -> RawLayer:
    """resolve_args(use, scope), from the last check when `use` is the same statement object."""
    raw = memo.get("args", (use,), lambda: resolve_args(use, scope), same=scope)
    return RawLayer(raw.op, dict(raw.attrs), raw.name, raw.pos, None, raw.refs, raw.scope, raw.user_named, raw)


def resolve_all(stmts: list, errors: Collector, memo: StatementMemo | None = None) -> list:
    """Raw statements: RawLayer, S.FromStmt, S.OutputStmt, Alias, with residual bodies resolved.

    `memo` (an editor's, across successive checks) reuses the checked arguments of unchanged statements.
    """
    out = []
    for stmt, scope in stmts:
        if isinstance(stmt, S.Residual):
            body = resolve_all(list(stmt.body), errors, memo)
            if not stmt.body:
                errors.add("`residual` needs at least one layer", stmt.pos)
            out.append(RawLayer("residual", {}, None, stmt.pos, body, scope=scope))
        elif isinstance(stmt, S.InputDecl):
            errors.add("`input` statements come first in the model, before any layer", stmt.pos)
        elif isinstance(stmt, S.LayerUse):
            try:
                out.append(resolve_args(stmt, scope) if memo is None else _reused(memo, stmt, scope))
            except SpecError as e:
                errors.extend([e])
                if not any(k.name == "name" for k in stmt.kwargs):  # it keeps its default name (see RawLayer)
                    out.append(RawLayer(stmt.op, {}, None, stmt.pos, scope=scope, broken=True))
        else:  # FromStmt, OutputStmt, Alias
            out.append((stmt, scope))
    return out


def infer_shape(raw: RawLayer, shape: Shape) -> Shape:
    """The output shape of one single-input layer (finalizing shape-dependent attributes): the op's rule alone."""
    op, ctx = OPS[raw.op], ShapeCtx(raw.name or raw.op, [tuple(shape)])
    op.resolve(raw.attrs, ctx)
    return tuple(op.shape(raw.attrs, ctx))


# ---- names ----------------------------------------------------------------------------------------

def _walk(raw):
    for item in raw:
        if isinstance(item, RawLayer):
            yield item
            if item.body:
                yield from _walk(item.body)


def assign_names(raw: list, errors: Collector, taken: dict[str, Pos] | None = None) -> None:
    """Default names `<op>_<n>` in order, skipping names the user took; duplicates are errors."""
    taken = dict(taken or {})
    check_user_names(raw, errors, taken)
    default_names(raw, taken, {})


def check_user_names(raw: list, errors: Collector, taken: dict[str, Pos]) -> None:
    """Add the user-given names of `raw` to `taken` (name -> where); a name given twice is an error."""
    for layer in _walk(raw):
        if layer.user_named:
            if layer.name in taken:
                errors.add(f"layer name `{layer.name}` is used twice (first at line {taken[layer.name].line})",
                           layer.pos)
            taken[layer.name] = layer.pos


def default_names(raw: list, taken, counters: dict[str, int]) -> None:
    """Name every layer the user did not: `<op>_<n>`, counting on from `counters` (op -> last n),
    skipping the names in `taken` (the user's; a default never repeats another, as n only grows)."""
    for layer in _walk(raw):
        if not layer.user_named:
            n = counters.get(layer.op, 0)
            while True:
                n += 1
                candidate = f"{layer.op}_{n}"
                if candidate not in taken:
                    break
            counters[layer.op] = n
            layer.name = candidate


# ---- the graph ------------------------------------------------------------------------------------

class GraphBuilder:
    """Wires raw statements into layers; one instance per model."""

    def __init__(self, inputs: list[Input], errors: Collector, values: Values | None = None,
                 layers: list | None = None, outputs: list | None = None, aliases: dict | None = None,
                 failed: list | None = None, memo: StatementMemo | None = None):
        """A new chain over `inputs`, or (passes/graph.py) one carried on from the given state.
        `memo` (an editor's): a layer from an unchanged statement, given the same input shapes,
        takes its attributes and output shape from the last check instead of its shape rule."""
        self.errors = errors
        self.memo = memo
        self.values = values if values is not None else Values()
        self.layers: list[Layer] = layers if layers is not None else []
        self.outputs: list[Output] = outputs if outputs is not None else []
        self.aliases: dict[str, str] = aliases if aliases is not None else {}
        self.failed: list = failed if failed is not None else []  # lookups that failed: (name, scope, later?)
        self.redefined = False  # a name defined twice (an error): the state is no longer append-only
        for inp in inputs:
            self._define(inp.name, inp.shape, inp.dtype, inp.pos)
        self.later: set[str] = set()  # every name the chain defines (to tell "later" from "unknown")

    def _define(self, name: str, shape, dtype: str, pos: Pos) -> None:
        self.redefined = self.redefined or name in self.values.shapes
        self.values.shapes[name] = shape
        self.values.dtypes[name] = dtype
        self.values.defined_at[name] = pos

    # -- name lookup --------------------------------------------------------------------------
    def lookup(self, name: str, scope: tuple, pos: Pos) -> str | None:
        """The value `name` means in `scope` (block-local names first), or None after an error."""
        for depth in range(len(scope), -1, -1):
            qualified = ".".join(scope[:depth] + (name,))
            qualified = self.aliases.get(qualified, qualified)
            if qualified in self.values.shapes:
                self.values.uses.append(qualified)
                return qualified
        later = is_later(self.later, name, scope)
        self.failed.append((name, scope, later))
        if later:
            self.errors.add(f"`{name}` is used before it is defined", pos,
                            "a value can only be used after the layer that computes it (no cycles)")
            return None
        known = list(self.values.shapes) + list(self.aliases)
        self.errors.add(f"unknown value `{name}`", pos,
                        did_you_mean(name, known) or "name a layer with `name=\"...\"` to use its output here")
        return None

    # -- the chain ----------------------------------------------------------------------------
    def run(self, raw: list, current: str | None) -> str | None:
        for item in raw:
            if isinstance(item, RawLayer):
                if not item.broken:
                    current = self._layer(item, current)
                continue
            stmt, scope = item
            if isinstance(stmt, S.FromStmt):
                current = self.lookup(stmt.name, scope, stmt.pos)
            elif isinstance(stmt, S.OutputStmt):
                self._output(stmt, current)
            elif isinstance(stmt, Alias):
                if current is not None:
                    qualified = ".".join(scope + (stmt.name,))
                    if qualified in self.values.shapes or qualified in self.aliases:
                        self.errors.add(f"block use name `{qualified}` is already a value name", stmt.pos)
                    else:
                        self.aliases[qualified] = current
        return current

    def _output(self, stmt: S.OutputStmt, current: str | None) -> None:
        if current is None:
            return
        name = stmt.name or current
        if any(o.name == name for o in self.outputs):
            self.errors.add(f"output `{name}` is declared twice", stmt.pos)
            return
        self.values.uses.append(current)
        self.outputs.append(Output(name, current, stmt.pos))

    def _layer(self, raw: RawLayer, current: str | None) -> str | None:
        if raw.op == "residual":
            return self._residual(raw, current)
        op = OPS[raw.op]
        if op.kind == "merge":
            inputs = [self.lookup(r.id, raw.scope, r.pos) for r in raw.refs]
        else:
            inputs = [current]
            if current is not None:
                self.values.uses.append(current)
        shapes = [self.values.shapes.get(i) if i is not None else None for i in inputs]
        out_shape = None
        if all(s is not None for s in shapes) and inputs:
            dtypes = [self.values.dtypes[i] for i in inputs]
            if self.memo is None or raw.source is None:
                out_shape, error = _shape_rule(raw, shapes, dtypes)
            else:
                out_shape, error = self._remembered_shape(raw, shapes, dtypes)
            if error is not None:
                self.errors.extend([error])
        self._add(raw, tuple(i or "" for i in inputs), tuple(tuple(s or ()) for s in shapes), out_shape)
        return raw.name

    def _remembered_shape(self, raw: RawLayer, shapes: list, dtypes: list):
        """_shape_rule from the last check when made from the same statement and input shapes (its
        resolved attributes too); an error names the layer, so it is kept only under the same name."""
        def compute():
            raw.attrs = dict(raw.source.attrs)  # as checked, whatever a shape rule did to raw.attrs
            return (raw.name, raw.attrs, *_shape_rule(raw, shapes, dtypes))
        name, attrs, out_shape, error = self.memo.get("shape", (raw.source,), compute,
                                                      same=(tuple(map(tuple, shapes)), tuple(dtypes)))
        if error is not None and name != raw.name:
            raw.attrs = dict(raw.source.attrs)
            return _shape_rule(raw, shapes, dtypes)
        raw.attrs = attrs
        return out_shape, error

    def _residual(self, raw: RawLayer, current: str | None) -> str | None:
        """`residual { f }` = add(x, f(x)): the body must keep the shape."""
        end = self.run(raw.body or [], current)
        start_shape = self.values.shapes.get(current) if current is not None else None
        end_shape = self.values.shapes.get(end) if end is not None else None
        if start_shape is not None and end_shape is not None and tuple(end_shape) != tuple(start_shape):
            self.errors.add(f"{raw.name}: the body changes the shape from {fmt_shape(start_shape)} to "
                            f"{fmt_shape(end_shape)}; a residual body must preserve the shape", raw.pos)
            end_shape = None
        if current is not None and end is not None:
            self.values.uses += (current, end)
        out = tuple(start_shape) if start_shape is not None and end_shape is not None else None
        self._add(raw, (current or "", end or ""), (tuple(start_shape or ()), tuple(end_shape or ())), out, "add")
        return raw.name

    def _add(self, raw: RawLayer, inputs: tuple, in_shapes: tuple, out_shape, op: str | None = None) -> None:
        self.layers.append(Layer(raw.name, op or raw.op, raw.attrs, inputs, in_shapes, out_shape or (), (),
                                 raw.pos, tuple(raw.scope)))
        self._define(raw.name, out_shape, "float", raw.pos)  # layers output floats (token ids are inputs only)

    # -- parameters, once every shape is known --------------------------------------------------
    def with_params(self) -> list[Layer]:
        consumers = consumers_of(self.layers)
        return [with_params(layer, init_choices(layer, consumers)) for layer in self.layers]

    def unused(self) -> list[tuple[str, Pos]]:
        """Values nothing consumes and no output names (a warning each)."""
        used = set(self.values.uses) | {o.value for o in self.outputs}
        return [(name, pos) for name, pos in self.values.defined_at.items() if name not in used]


def _shape_rule(raw: RawLayer, shapes: list, dtypes: list):
    """(output shape, None), or (None, the error): the op's shape rule, which also finalizes the
    shape-dependent attributes in raw.attrs."""
    op = OPS[raw.op]
    ctx = ShapeCtx(raw.name, [tuple(s) for s in shapes], list(dtypes))
    try:
        if not op.takes_tokens and "int" in ctx.dtypes:
            ctx.fail(f"{raw.name} expects float values but gets token ids {fmt_shape(shapes[0])}",
                     "token ids go through `embedding(vocab, dim)` first")
        op.resolve(raw.attrs, ctx)
        return tuple(op.shape(raw.attrs, ctx)), None
    except SpecError as e:
        e.pos = e.pos or raw.pos
        return None, e


def is_later(later: set, name: str, scope: tuple) -> bool:
    """Whether a name not defined yet is defined later in the chain (else it is unknown)."""
    return any(".".join(scope[:depth] + (name,)) in later for depth in range(len(scope), -1, -1))


def consumers_of(layers) -> dict[str, list[Layer]]:
    """value name -> the layers that take it."""
    consumers: dict[str, list[Layer]] = {}
    for layer in layers:
        for i in layer.inputs:
            consumers.setdefault(i, []).append(layer)
    return consumers


def init_choices(layer: Layer, consumers: dict) -> tuple:
    """The initializer each `init=auto` argument of `layer` resolves to: the lecture's rule
    reads the layers that consume its output, which may come later in the chain."""
    if not layer.out_shape:
        return ()
    return tuple(_auto_init(layer.name, consumers) for a in _init_args(layer.op)
                 if _init_name(layer.attrs[a]) == "auto")


@functools.cache
def _init_args(op: str) -> tuple[str, ...]:
    return tuple(a.name for a in OPS[op].args if isinstance(a.type, Init))


def with_params(layer: Layer, choices: tuple, memo: StatementMemo | None = None) -> Layer:
    """The layer with its parameters, `init=auto` replaced by `choices` (init_choices). `memo` (an
    editor's): the parameters of the same attributes and input shapes from the last check."""
    if not layer.out_shape:
        return layer
    if memo is None:
        attrs, params = _params(layer, choices)
    else:
        attrs, params = memo.get("params", (layer.attrs,), lambda: _params(layer, choices),
                                 same=(layer.op, layer.in_shapes, choices))
    if not params and not _init_args(layer.op):
        return layer  # nothing to add (an activation, a merge): the same attributes, no parameters
    return Layer(layer.name, layer.op, attrs, layer.inputs, layer.in_shapes, layer.out_shape, params,
                 layer.pos, layer.scope)


def _params(layer: Layer, choices: tuple) -> tuple[dict, tuple]:
    op = OPS[layer.op]
    attrs, choices = dict(layer.attrs), iter(choices)
    for a in _init_args(layer.op):  # `init` -> attrs["init"], attrs["init_args"]; so `bias_init`
        init = attrs[a]
        name, args = init if isinstance(init, tuple) else (init, {})
        if name == "auto":
            name = next(choices)
        attrs[a], attrs[f"{a}_args"] = name, dict(args)
    return attrs, tuple(op.params(attrs, ShapeCtx(layer.name, [tuple(s) for s in layer.in_shapes])))


def _init_name(init) -> str:
    return init[0] if isinstance(init, tuple) else init


def _auto_init(name: str, consumers: dict) -> str:
    """The lecture's rule from the first activation after the layer (past dropout, norm, pooling)."""
    while True:
        after = consumers.get(name, [])
        if len(after) != 1:
            return "glorot_normal"
        nxt = OPS[after[0].op]
        if nxt.init_transparent:
            name = after[0].name
            continue
        return nxt.init_hint or "glorot_normal"
