"""The compute graph of a model as Graphviz DOT text, written from the IR.

One node per layer (its name, op and resolved attributes, and its parameters
with their shapes), one per model input and output; every edge is labelled
with the shape of the tensor that flows along it (batch dimension left out, as
everywhere in specc). Merges (`add`, `multiply`, `concat`, and the `add` a
`residual { }` lowers to) are small round nodes; an edge that skips ahead (a
branch taken with `from`, a residual's shortcut) is dashed.

Only the standard library is used: DOT is plain text, so `specc graph -o
model.dot` works without Graphviz. Rendering to SVG/PNG (`render`) runs the
Graphviz `dot` binary when it is installed.
"""
from __future__ import annotations

import os
import shutil
import subprocess

from .ir import Layer, Model, Program
from .ops import OPS

TEXT_FORMATS = ("dot", "gv")
RENDER_FORMATS = ("svg", "png", "pdf")

_NODE_STYLE = {
    "layer": 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"',
    "activation": 'shape=box, style="rounded,filled", fillcolor="#fdf0d5"',
    "io": 'shape=ellipse, style=filled, fillcolor="#e8e8e8"',
    "add": 'shape=circle, style=filled, fillcolor="#e8e8e8", width=0.4, fixedsize=true',
}


class GraphvizMissing(RuntimeError):
    """The `dot` binary is not on PATH, so only DOT text can be written."""


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def shape_str(shape) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _value(key: str, value) -> str:
    """Attribute values in the compact form a reader expects (5x5 kernels, pad 2)."""
    if isinstance(value, tuple) and key == "pad":
        if len(set(value)) == 1:
            return str(value[0])
        return ",".join(str(v) for v in value)  # top,left,bottom,right
    if isinstance(value, tuple):
        return str(value[0]) if len(set(value)) == 1 else "x".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "none"
    return str(value)


# Options whose default says nothing a reader of the graph needs (shown only when set).
QUIET_DEFAULTS = {"dilation": (1, 1), "groups": 1, "bias_init": "zeros", "channels": False,
                  "output_padding": (0, 0)}


def op_text(layer: Layer) -> str:
    """`dense(units=4, init=glorot_normal)`: the op with its resolved attributes."""
    attrs = dict(layer.attrs)
    init_args = {key[:-5]: attrs.pop(key) or {} for key in list(attrs) if key.endswith("init_args")}
    parts = []
    for key, value in attrs.items():
        if key == "bias" and value is True or QUIET_DEFAULTS.get(key, ()) == value and not init_args.get(key):
            continue  # the defaults; `bias=false` is worth showing
        if key == "pad" and layer.op in ("maxpool", "avgpool", "l2pool") and not any(value):
            continue  # pools without padding, as before they took one
        if init_args.get(key):
            value = f"{value}(" + ", ".join(_value(k, v) for k, v in init_args[key].items()) + ")"
        parts.append(f"{key}={_value(key, value)}")
    return f"{layer.op}({', '.join(parts)})" if parts else layer.op


def layer_label(layer: Layer) -> str:
    lines = [layer.name, op_text(layer)]
    for p in layer.params:
        lines.append(f"{p.name} {shape_str(p.shape)}" + ("" if p.trainable else " (buffer)"))
    return "\n".join(lines)


class _Writer:
    """Accumulates DOT lines; node ids are the (unique) value names."""

    def __init__(self):
        self.lines: list[str] = []

    def node(self, node_id: str, label: str, style: str) -> None:
        self.lines.append(f"  {quote(node_id)} [label={quote(label)}, {style}];")

    def edge(self, src: str, dst: str, shape, extra: str = "") -> None:
        attrs = f"label={quote(shape_str(shape))}" + (f", {extra}" if extra else "")
        self.lines.append(f"  {quote(src)} -> {quote(dst)} [{attrs}];")


_SKIP = 'style=dashed, color="#555555"'
_MERGE_SYMBOL = {"add": "+", "multiply": "×", "concat": "⧺"}


def to_dot(model: Model | Program) -> str:
    """DOT text of the model's compute graph (deterministic: same IR, same text)."""
    if isinstance(model, Program):
        model = model.model
    w = _Writer()
    w.lines += [f"digraph {quote(model.name)} {{",
                "  rankdir=TB;",
                '  node [fontname="Helvetica", fontsize=11];',
                '  edge [fontname="Helvetica", fontsize=9];']
    # ":" cannot occur in a layer name, so the io node ids never collide with layers
    node_of = {}
    for inp in model.inputs:
        node_of[inp.name] = f"input:{inp.name}"
        kind = " int" if inp.dtype == "int" else ""
        w.node(node_of[inp.name], f"{inp.name}\ninput {shape_str(inp.shape)}{kind}", _NODE_STYLE["io"])
    previous = node_of[model.inputs[0].name] if model.inputs else None
    for layer in model.layers:
        kind = getattr(OPS.get(layer.op), "kind", "layer")
        if kind == "merge":
            label = _MERGE_SYMBOL.get(layer.op, layer.op) + ("" if layer.name.startswith(layer.op) else
                                                             f"\n{layer.name}")
            w.node(layer.name, label, _NODE_STYLE["add"] if layer.op != "concat" else _NODE_STYLE["io"])
        else:
            w.node(layer.name, layer_label(layer), _NODE_STYLE["activation" if kind == "activation" else "layer"])
        for value, shape in zip(layer.inputs, layer.in_shapes):
            src = node_of.get(value, value)
            w.edge(src, layer.name, shape, "" if src == previous else _SKIP + ", constraint=false")
        previous = layer.name
    for out in model.outputs:
        node = f"output:{out.name}"
        w.node(node, f"{out.name}\noutput {shape_str(model.value_shape(out.value))}", _NODE_STYLE["io"])
        w.edge(node_of.get(out.value, out.value), node, model.value_shape(out.value))
    w.lines.append("}")
    return "\n".join(w.lines) + "\n"


def output_format(path: str) -> str:
    """The format named by a file's extension: dot (text) or one Graphviz renders."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext in TEXT_FORMATS:
        return "dot"
    if ext in RENDER_FORMATS:
        return ext
    known = ", ".join("." + e for e in TEXT_FORMATS + RENDER_FORMATS)
    raise ValueError(f"cannot tell the format of {path!r} from its extension; use one of {known}")


def render(dot_text: str, path: str, fmt: str, dot_binary: str | None = None) -> None:
    """Write `dot_text` rendered as `fmt` to `path` with Graphviz' `dot`.

    Raises GraphvizMissing when `dot` is not installed, RuntimeError when it fails.
    """
    dot = dot_binary or shutil.which("dot")
    if not dot:
        raise GraphvizMissing("Graphviz' `dot` program is not installed")
    proc = subprocess.run([dot, f"-T{fmt}", "-o", path], input=dot_text.encode(), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
