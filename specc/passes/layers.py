"""Pass: layer calls -> resolved IR layers with names, shapes, parameters, initializers.

Three steps, each small:
  resolve_args   bind a call to the op's schema, check every value, fill defaults
  infer_shape    the output shape of one op from its input shape (or a SpecError
                 naming the layer and both shapes)
  make_params    the op's parameters with their shapes and initializer
Independent errors are all collected; after a shape error the following layers
still get their arguments checked, but not their shapes.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .. import syntax as S
from ..errors import Collector, SpecError, did_you_mean
from ..ir import Layer, Param, Pos, Shape
from ..ops import (HE_ACTIVATIONS, INIT_TRANSPARENT, INITIALIZERS, LECUN_ACTIVATIONS, OPS, REQUIRED)
from .values import as_bool, as_float, as_int, as_name, as_pair, as_str, bind, is_value, show

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass
class RawLayer:
    """A layer call with checked attributes, before shapes are known."""

    op: str
    attrs: dict
    name: str | None  # user-given name or None
    pos: Pos
    body: list | None = None  # for residual


# ---- attribute checks ----------------------------------------------------

def _init(v, what):
    """`auto`, an initializer name, or `normal(std)` / `uniform(limit)`."""
    if isinstance(v, S.NameV) or (isinstance(v, S.Lit) and isinstance(v.value, str)):
        name = as_name(v, "initializer", set(INITIALIZERS) | {"auto"})
        if INITIALIZERS.get(name):
            raise SpecError(f"initializer `{name}` needs `{INITIALIZERS[name][0]}`", v.pos,
                            f"write `{name}({INITIALIZERS[name][0]}=...)`")
        return name, {}
    if isinstance(v, S.CallV):
        if v.name not in INITIALIZERS:
            raise SpecError(f"unknown initializer `{v.name}`", v.pos, did_you_mean(v.name, INITIALIZERS))
        schema = {a: REQUIRED for a in INITIALIZERS[v.name]}
        bound = bind(v.name, v.args, v.kwargs, schema, "initializer", v.pos)
        return v.name, {k: as_float(x, f"{v.name}'s {k}", lo=0, lo_open=True) for k, x in bound.items()}
    raise SpecError(f"{what} must be an initializer name or call, got `{show(v)}`", getattr(v, "pos", None))


def _pad(v, what):
    """An int, `[ph, pw]`, `same` or `valid`; resolved later to 4 sides."""
    if isinstance(v, S.NameV) or (isinstance(v, S.Lit) and isinstance(v.value, str)):
        return as_name(v, "padding", {"same", "valid"})
    if isinstance(v, (S.ListV, S.Lit)):
        return as_pair(v, what, lo=0)
    raise SpecError(f"{what} must be a whole number or `same`, got `{show(v)}`", getattr(v, "pos", None))


_TYPE_CHECKS = {
    "int": lambda v, w: as_int(v, w, lo=1),
    "float": lambda v, w: as_float(v, w),
    "bool": as_bool,
    "pair": lambda v, w: as_pair(v, w, lo=1),
    "pad": _pad,
    "init": _init,
}

# Extra range checks: op -> arg -> check(value, syntax node, what)
_RANGES = {
    ("dropout", "p"): dict(lo=0.0, hi=1.0, hi_open=True),
    ("batchnorm", "momentum"): dict(lo=0.0, hi=1.0),
    ("batchnorm", "eps"): dict(lo=0.0, lo_open=True),
    ("elu", "alpha"): dict(lo=0.0, lo_open=True),
    ("leaky_relu", "alpha"): dict(lo=0.0),
    ("sigmoid", "steepness"): dict(lo=0.0, lo_open=True),
}


def resolve_args(use: S.LayerUse) -> RawLayer:
    """Bind a layer call to its op schema; every attribute checked, defaults filled."""
    schema = OPS[use.op]
    kwargs = [k for k in use.kwargs if k.name != "name"]
    name = None
    for k in use.kwargs:
        if k.name == "name":
            name = as_str(k.value, "a layer name")
            if not NAME_RE.match(name):
                raise SpecError(f"layer name \"{name}\" must be letters, digits and `_`, starting with a letter", k.value.pos)
    table = {a.name: a.default for a in schema.args}
    bound = bind(use.op, use.args, tuple(kwargs), table, "layer", use.pos)
    attrs = {}
    for arg in schema.args:
        value = bound[arg.name]
        what = f"{use.op}'s `{arg.name}`"
        if is_value(value):
            if (use.op, arg.name) in _RANGES:
                attrs[arg.name] = as_float(value, what, **_RANGES[(use.op, arg.name)])
            else:
                attrs[arg.name] = _TYPE_CHECKS[arg.type](value, what)
        elif arg.type in ("pair", "pad") and isinstance(value, int):  # a default such as stride=1
            attrs[arg.name] = (value, value)
        else:  # a default from the table
            attrs[arg.name] = value
    return RawLayer(use.op, attrs, name, use.pos)


def resolve_all(stmts: list, errors: Collector) -> list[RawLayer]:
    out = []
    for stmt in stmts:
        if isinstance(stmt, S.Residual):
            body = resolve_all(list(stmt.body), errors)
            if not stmt.body:
                errors.add("`residual` needs at least one layer", stmt.pos)
            out.append(RawLayer("residual", {}, None, stmt.pos, body))
        elif isinstance(stmt, S.InputDecl):
            errors.add("`input` must be the first statement of the model", stmt.pos)
        else:
            try:
                out.append(resolve_args(stmt))
            except SpecError as e:
                errors.extend([e])
    return out


# ---- names ----------------------------------------------------------------

def assign_names(layers: list[RawLayer], errors: Collector) -> None:
    """Default names `<op>_<n>` in order, skipping names the user took; duplicates are errors."""
    taken: dict[str, Pos] = {}

    def walk_user(ls):
        for l in ls:
            if l.name:
                if l.name in taken:
                    errors.add(f"layer name `{l.name}` is used twice (first at line {taken[l.name].line})", l.pos)
                taken[l.name] = l.pos
            if l.body:
                walk_user(l.body)

    counters: dict[str, int] = {}

    def walk_default(ls):
        for l in ls:
            if not l.name:
                n = counters.get(l.op, 0)
                while True:
                    n += 1
                    candidate = f"{l.op}_{n}"
                    if candidate not in taken:
                        break
                counters[l.op] = n
                l.name = candidate
                taken[candidate] = l.pos
            if l.body:
                walk_default(l.body)

    walk_user(layers)
    walk_default(layers)


# ---- shapes ---------------------------------------------------------------

def fmt_shape(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _same_pad(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def resolve_pad(pad, kernel, stride, hw) -> tuple[int, int, int, int]:
    """(top, left, bottom, right); `same` pads like TensorFlow (extra on bottom/right)."""
    if pad == "valid":
        return (0, 0, 0, 0)
    if pad == "same":
        top, bottom = _same_pad(hw[0], kernel[0], stride[0])
        left, right = _same_pad(hw[1], kernel[1], stride[1])
        return (top, left, bottom, right)
    return (pad[0], pad[1], pad[0], pad[1])


def _need_vector(layer: RawLayer, shape):
    if len(shape) != 1:
        hint = "add flatten before it" if len(shape) > 1 else None
        raise SpecError(f"{layer.name} expects a vector but gets {fmt_shape(shape)}" + (f"; {hint}" if hint else ""),
                        layer.pos)


def _need_image(layer: RawLayer, shape):
    if len(shape) != 3:
        hint = "declare the input channels-first, e.g. `input [1, 28, 28]`" if len(shape) == 1 else None
        raise SpecError(f"{layer.name} expects an image [C, H, W] but gets {fmt_shape(shape)}", layer.pos, hint)


def _window_out(layer, shape, kernel, stride, pad):
    _, h, w = shape
    ph, pw = pad[0] + pad[2], pad[1] + pad[3]
    if kernel[0] > h + ph or kernel[1] > w + pw:
        raise SpecError(f"{layer.name}: window {kernel[0]}x{kernel[1]} is larger than its input "
                        f"{h + ph}x{w + pw} (input shape {fmt_shape(shape)})", layer.pos)
    return (h + ph - kernel[0]) // stride[0] + 1, (w + pw - kernel[1]) // stride[1] + 1


def infer_shape(layer: RawLayer, shape: Shape) -> Shape:
    """Output shape of one non-residual layer; may finalize attrs that depend on the shape."""
    op, a = layer.op, layer.attrs
    if op in ("dense", "maxout"):
        _need_vector(layer, shape)
        return (a["units"],)
    if op == "conv2d":
        _need_image(layer, shape)
        a["pad"] = resolve_pad(a["pad"], a["kernel"], a["stride"], shape[1:])
        return (a["filters"], *_window_out(layer, shape, a["kernel"], a["stride"], a["pad"]))
    if op in ("maxpool", "avgpool", "l2pool"):
        _need_image(layer, shape)
        if a["stride"] is None:
            a["stride"] = a["size"]
        return (shape[0], *_window_out(layer, shape, a["size"], a["stride"], (0, 0, 0, 0)))
    if op == "flatten":
        return (math.prod(shape),)
    return tuple(shape)  # dropout, batchnorm, activations


# ---- parameters -----------------------------------------------------------

def _auto_init(following: list[RawLayer]) -> str:
    """The lecture's rule from the first activation after the layer."""
    for nxt in following:
        if nxt.op in INIT_TRANSPARENT:
            continue
        if nxt.op in HE_ACTIVATIONS:
            return "he_normal"
        if nxt.op in LECUN_ACTIVATIONS:
            return "lecun_normal"
        break
    return "glorot_normal"


def make_params(layer: RawLayer, in_shape: Shape, following: list[RawLayer]) -> tuple[Param, ...]:
    op, a = layer.op, layer.attrs
    if op in ("dense", "conv2d", "maxout"):
        init, init_args = a["init"] if isinstance(a["init"], tuple) else (a["init"], {})
        if init == "auto":
            init = _auto_init(following)
        a["init"], a["init_args"] = init, dict(init_args)
        if op == "dense":
            fan_in, out = in_shape[0], a["units"]
            w_shape, fan_out = (out, fan_in), out
        elif op == "maxout":
            fan_in, out = in_shape[0], a["units"] * a["pieces"]
            w_shape, fan_out = (out, fan_in), a["units"]
        else:
            kh, kw = a["kernel"]
            fan_in, out = in_shape[0] * kh * kw, a["filters"]
            w_shape, fan_out = (out, in_shape[0], kh, kw), out * kh * kw
        params = [Param("weight", w_shape, init, dict(init_args), fan_in, fan_out, decay=True)]
        if a.get("bias", True):
            params.append(Param("bias", (out,), "zeros", {}, fan_in, fan_out))
        return tuple(params)
    if op == "batchnorm":
        c = (in_shape[0],)
        return (Param("weight", c, "ones"), Param("bias", c, "zeros"),
                Param("running_mean", c, "zeros", trainable=False),
                Param("running_var", c, "ones", trainable=False))
    if op == "prelu":
        return (Param("weight", (1,), "constant", {"value": a["alpha"]}),)
    return ()


# ---- the pass ---------------------------------------------------------------

def build(raw: list[RawLayer], in_shape: Shape | None, errors: Collector) -> tuple[Layer, ...]:
    """Shapes and parameters for a sequence of layers (recursing into residual bodies)."""
    out = []
    shape = in_shape
    for i, layer in enumerate(raw):
        following = raw[i + 1:]
        if layer.op == "residual":
            body = build(layer.body or [], shape, errors)
            end = body[-1].out_shape if body and shape is not None else None
            if shape is not None and end is not None and end != tuple(shape):
                errors.add(f"{layer.name}: the body changes the shape from {fmt_shape(shape)} to "
                           f"{fmt_shape(end)}; a residual body must preserve the shape", layer.pos)
            out.append(Layer(layer.name, "residual", {}, tuple(shape or ()), tuple(shape or ()), (), body, layer.pos))
            continue
        if shape is None:  # an earlier shape error: check nothing more about shapes
            out.append(Layer(layer.name, layer.op, layer.attrs, (), (), (), (), layer.pos))
            continue
        try:
            new_shape = infer_shape(layer, shape)
            params = make_params(layer, shape, following)
        except SpecError as e:
            errors.extend([e])
            out.append(Layer(layer.name, layer.op, layer.attrs, tuple(shape), (), (), (), layer.pos))
            shape = None
            continue
        out.append(Layer(layer.name, layer.op, layer.attrs, tuple(shape), tuple(new_shape), params, (), layer.pos))
        shape = new_shape
    return tuple(out)
