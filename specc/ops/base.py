"""What one op definition holds, and the argument types it is built from.

An op (layer, activation or merge) is defined once, as an `OpDef` instance in
one of this package's modules: its arguments (types, defaults, range checks),
its shape rule, its parameters (shapes, canonical layout, init rule), how it
prints, its documentation line, and its conformance cases. Everything else
reads these definitions: the passes (binding, shapes, parameters), the printer
(`spec.nn`), `specc summary`, the exportability check, docs/ops.md (generated),
the language server, and the conformance suite that every backend runs.

Standard library only: `specc check` must stay fast and never import NumPy.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import syntax as S
from ..errors import SpecError, did_you_mean
from ..ir import Param, Shape
from ..values import as_bool, as_float, as_int, as_name, as_pair, is_value, show
from .catalog import INITIALIZERS, REQUIRED

__all__ = ["REQUIRED", "Arg", "Example", "OpDef", "ShapeCtx", "Int", "OptInt", "Float", "Bool", "Pair", "Pad", "Init",
           "Choice", "fmt_shape", "pair_text", "init_text", "FAN_MODES"]


def fmt_shape(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def pair_text(p) -> str:
    """`3` for (3, 3), `[3, 2]` otherwise (as a user writes a kernel or stride)."""
    return str(p[0]) if p[0] == p[1] else f"[{p[0]}, {p[1]}]"


def _value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value_text(x) for x in v) + "]"
    return str(v)


# ---- argument types -------------------------------------------------------------------------
# Each type checks a syntax value (raising a positioned SpecError) and prints a checked value
# back as a user would write it; `doc` is how the generated docs name the type.

class ArgType:
    doc = "value"

    def check(self, v, what: str):
        raise NotImplementedError

    def show(self, value) -> str:
        return _value_text(value)

    def from_default(self, value):
        """A default from the definition in its checked form (e.g. stride 1 -> (1, 1))."""
        return value


@dataclass(frozen=True)
class Int(ArgType):
    lo: int = 1
    doc = "int"

    def check(self, v, what):
        return as_int(v, what, lo=self.lo)


@dataclass(frozen=True)
class OptInt(ArgType):
    """A whole number or `none` (e.g. embedding's pad token: none means no padding)."""

    lo: int = 0
    doc = "int or none"

    def check(self, v, what):
        if isinstance(v, S.NameV) and v.id == "none":
            return None
        return as_int(v, what, lo=self.lo)

    def show(self, value):
        return "none" if value is None else str(value)


@dataclass(frozen=True)
class Float(ArgType):
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    doc = "number"

    def check(self, v, what):
        return as_float(v, what, self.lo, self.hi, self.lo_open, self.hi_open)


@dataclass(frozen=True)
class Bool(ArgType):
    doc = "bool"

    def check(self, v, what):
        return as_bool(v, what)


@dataclass(frozen=True)
class Pair(ArgType):
    """An int or `[a, b]`, stored as a pair (kernel sizes, strides)."""

    lo: int = 1
    doc = "int or [h, w]"

    def check(self, v, what):
        return as_pair(v, what, lo=self.lo)

    def show(self, value):
        return pair_text(value)

    def from_default(self, value):
        return (value, value) if isinstance(value, int) else value


@dataclass(frozen=True)
class Pad(ArgType):
    """`same`, `valid`, an int, `[ph, pw]` or `[top, bottom, left, right]`.

    Stored as the user wrote it (a name, a pair, or four sides in the internal order
    (top, left, bottom, right)); the op resolves it to four sides once the input shape is known.
    """

    doc = "int, [h, w], [top, bottom, left, right], same or valid"

    def check(self, v, what):
        if isinstance(v, S.NameV) or (isinstance(v, S.Lit) and isinstance(v.value, str)):
            return as_name(v, "padding", {"same", "valid"})
        if isinstance(v, S.ListV) and len(v.items) == 4:
            top, bottom, left, right = (as_int(i, what, lo=0) for i in v.items)
            return (top, left, bottom, right)
        if isinstance(v, (S.ListV, S.Lit)):
            if isinstance(v, S.ListV) and len(v.items) != 2:
                raise SpecError(f"{what} must be an int, [h, w] or [top, bottom, left, right], got `{show(v)}`",
                                v.pos)
            return as_pair(v, what, lo=0)
        raise SpecError(f"{what} must be a whole number or `same`, got `{show(v)}`", getattr(v, "pos", None))

    def show(self, value):
        top, left, bottom, right = value
        if (top, left) == (bottom, right):
            return pair_text((top, left))
        return f"[{top}, {bottom}, {left}, {right}]"  # as a user writes four sides

    def from_default(self, value):
        return (value,) * 4 if isinstance(value, int) else value


@dataclass(frozen=True)
class Init(ArgType):
    """`auto`, an initializer name, or a call such as `normal(std)` / `he_normal(mode=fan_out)`.

    Checked to a name or (name, args), arguments equal to their defaults left out (so
    `he_normal(mode=fan_in)` is `he_normal`); the layers pass stores the rule in
    attrs[<arg>] and its arguments in attrs[<arg>_args]. `auto` (the weights' rule picked
    from the activation that follows) only where `allow_auto`.
    """

    allow_auto: bool = True
    doc = "initializer"

    def check(self, v, what):
        names = set(INITIALIZERS) | ({"auto"} if self.allow_auto else set())
        if isinstance(v, S.NameV) or (isinstance(v, S.Lit) and isinstance(v.value, str)):
            name = as_name(v, "initializer", names)
            needed = [a for a, d in INITIALIZERS.get(name, {}).items() if d is REQUIRED]
            if needed:
                raise SpecError(f"initializer `{name}` needs `{needed[0]}`", v.pos, f"write `{name}({needed[0]}=...)`")
            return name
        if isinstance(v, S.CallV):
            from ..values import bind

            if v.name not in INITIALIZERS:
                raise SpecError(f"unknown initializer `{v.name}`", v.pos, did_you_mean(v.name, INITIALIZERS))
            schema = INITIALIZERS[v.name]
            bound = bind(v.name, v.args, v.kwargs, schema, "initializer", v.pos)
            args = {}
            for k, x in bound.items():
                if not is_value(x):  # a default
                    continue
                if k == "mode":
                    value = as_name(x, "mode", set(FAN_MODES))
                elif k == "value":
                    value = as_float(x, f"{v.name}'s {k}")
                else:
                    value = as_float(x, f"{v.name}'s {k}", lo=0, lo_open=True)
                if value != schema[k]:
                    args[k] = value
            return (v.name, args) if args else v.name
        raise SpecError(f"{what} must be an initializer name or call, got `{show(v)}`", getattr(v, "pos", None))


FAN_MODES = ("fan_in", "fan_out")


def init_text(name: str, args: dict) -> str:
    """`normal(0.01)`, `he_normal(fan_out)`: an initializer as summary, hover and spec.nn show it."""
    if not args:
        return name
    return f"{name}(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in args.values()) + ")"


@dataclass(frozen=True)
class Choice(ArgType):
    options: tuple[str, ...] = ()
    doc = "name"

    def check(self, v, what):
        return as_name(v, what, set(self.options))


@dataclass(frozen=True)
class Arg:
    name: str
    type: ArgType
    default: object = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Example:
    """One conformance case: a model body run on every backend (tests/conformance).

    `input` is the input shape of one example, `body` the layers as spec text
    (often a dense in front so the op's input gradient is exercised too),
    `batches` the batch sizes to run. `kinks` lists input values to keep away
    from in finite differences (relu at 0, ...), `training` whether the
    gradient is checked in training mode (batch statistics, dropout off).
    """

    input: tuple[int, ...]
    body: str
    batches: tuple[int, ...] = (1, 3)
    kinks: tuple[float, ...] = ()
    distinct: bool = False     # inputs all different (max pooling needs a unique argmax)
    positive: bool = False     # inputs in [0.5, 2]
    training: bool = True
    tokens: int = 0            # > 0: the input is token ids in [0, tokens) (an `int` input)
    padded: bool = False       # token inputs: some sequences end in padding (token 0)
    spread: float = 1.0        # inputs scaled by this (to reach kinks far from 0, e.g. relu6 at 6)


class ShapeCtx:
    """What a shape rule sees: the node's name (for messages), its input shapes, and a way to fail."""

    def __init__(self, name: str, shapes: list[Shape], dtypes: list[str] | None = None):
        self.name = name
        self.shapes = shapes
        self.dtypes = dtypes or ["float"] * len(shapes)

    @property
    def shape(self) -> Shape:
        return self.shapes[0]

    def fail(self, message: str, hint: str | None = None):
        raise SpecError(message, None, hint)

    @property
    def dtype(self) -> str:
        return self.dtypes[0]

    def need_vector(self) -> Shape:
        shape = self.shape
        if len(shape) != 1:
            hint = "add flatten before it" if len(shape) > 1 else None
            self.fail(f"{self.name} expects a vector but gets {fmt_shape(shape)}" + (f"; {hint}" if hint else ""))
        return shape

    def need_features(self) -> Shape:
        """A vector [D] or a sequence [T, D]: ops that act on the last axis (dense, layernorm)."""
        shape = self.shape
        if len(shape) not in (1, 2):
            self.fail(f"{self.name} expects a vector [D] or a sequence [T, D] but gets {fmt_shape(shape)}; "
                      "add flatten before it")
        return shape

    def need_sequence(self) -> Shape:
        """A sequence of vectors [T, D] (time first, features last)."""
        shape = self.shape
        if len(shape) != 2:
            hint = None
            if self.dtype == "int":
                hint = "token ids go through `embedding(vocab, dim)` first"
            elif len(shape) == 1:
                hint = "a sequence is [time, features]; declare e.g. `input x [T, D]`, or start from embedding"
            self.fail(f"{self.name} expects a sequence [T, D] but gets {fmt_shape(shape)}", hint)
        return shape

    def need_image(self) -> Shape:
        shape = self.shape
        if len(shape) != 3:
            hint = None
            if len(shape) == 1:
                hint = "declare the input channels-first, e.g. `input [1, 28, 28]`"
            elif len(shape) == 2:
                hint = "[T, D] is a sequence; a grayscale image is channels-first: write " + fmt_shape((1, *shape))
            self.fail(f"{self.name} expects an image [C, H, W] but gets {fmt_shape(shape)}", hint)
        return shape


class OpDef:
    """One op, defined once. Subclass per op family; override what differs.

    kind: "layer" (may own parameters), "activation" (elementwise or over the
    feature axis; `init=auto` of the layer before looks at it) or "merge"
    (takes several named values). Attributes are the checked argument values
    with defaults filled in, finalized by `resolve` once the input shape is
    known (e.g. `pad=same` becomes four sides); that dict is what backends read.
    """

    name = ""
    kind = "layer"
    args: tuple[Arg, ...] = ()
    doc = ""                   # one line: hover, summary, docs table
    shape_doc = "same shape"   # the shape rule in words, for the docs table
    params_doc = ""            # the parameters and their canonical layout, for the docs table
    init_hint: str | None = None   # activations: the init rule `init=auto` picks for the layer before
    init_transparent = False   # skipped when `init=auto` looks for the activation that follows
    exportable = True          # the ONNX exporter lowers it (a test holds this equal to its table)
    takes_tokens = False       # its input may be integer token ids (embedding); others need floats
    uses_mask = False          # reads the padding mask of its input (NumPy ctx.mask, torch/ONNX `mask`)
    keeps_mask = True          # its output has the time axis of its input, so the mask carries on
    examples: tuple[Example, ...] = ()

    def arg(self, name: str) -> Arg | None:
        for a in self.args:
            if a.name == name:
                return a
        return None

    # -- shape and attributes --------------------------------------------------------------
    def resolve(self, attrs: dict, ctx: ShapeCtx) -> None:
        """Finalize attributes that depend on the input shape (in place)."""

    def shape(self, attrs: dict, ctx: ShapeCtx) -> Shape:
        """The output shape for the input shapes in ctx (or ctx.fail with a message)."""
        return tuple(ctx.shape)

    def params(self, attrs: dict, ctx: ShapeCtx) -> tuple[Param, ...]:
        """The op's parameters and buffers, in canonical layout, with their init rules."""
        return ()

    def makes_mask(self, attrs: dict) -> bool:
        """Whether its output starts a padding mask (embedding with `pad`)."""
        return False

    # -- printing ----------------------------------------------------------------------------
    def print_args(self, attrs: dict) -> list[str]:
        """Arguments as a user writes them: required ones positionally, others when not default."""
        out = []
        for a in self.args:
            if a.name not in attrs:
                continue
            value = attrs[a.name]
            if isinstance(a.type, Init):  # resolved: the rule's name plus its arguments
                init_args = attrs.get(f"{a.name}_args", {})
                if a.default != "auto" and value == a.default and not init_args:
                    continue  # e.g. bias_init=zeros; `init` is always shown (what auto chose)
                args = ", ".join(_value_text(v) for v in init_args.values())
                out.append(f"{a.name}={value}" + (f"({args})" if args else ""))
            elif a.required:
                out.append(a.type.show(value))
            elif value != a.type.from_default(a.default):
                out.append(f"{a.name}={a.type.show(value)}")
        return out

    def signature(self) -> str:
        """`dense(units, init=auto, bias=true)`: for hover, completion and the docs."""
        parts = ["a", "b", "..."] if self.kind == "merge" else []
        parts += [a.name if a.required else f"{a.name}={_value_text(a.default) if a.default is not None else 'none'}"
                  for a in self.args]
        return f"{self.name}({', '.join(parts)})" if parts else self.name
