"""The compute graph of a model as Graphviz DOT text, written from the IR.

One node per layer (its name, op and resolved attributes, and its parameters
with their shapes); every edge is labelled with the shape of the tensor that
flows along it (batch dimension left out, as everywhere in specc). A
`residual` becomes a cluster holding its body, an Add node, and the skip edge
from the residual's input to the Add.

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
    return str(value)


def op_text(layer: Layer) -> str:
    """`dense(units=4, init=glorot_normal)`: the op with its resolved attributes."""
    attrs = dict(layer.attrs)
    init_args = attrs.pop("init_args", None) or {}
    parts = []
    for key, value in attrs.items():
        if key == "bias" and value is True:
            continue  # the default; `bias=false` is worth showing
        if key == "init" and init_args:
            value = f"{value}(" + ", ".join(_value(k, v) for k, v in init_args.items()) + ")"
        parts.append(f"{key}={_value(key, value)}")
    return f"{layer.op}({', '.join(parts)})" if parts else layer.op


def layer_label(layer: Layer) -> str:
    lines = [layer.name, op_text(layer)]
    for p in layer.params:
        lines.append(f"{p.name} {shape_str(p.shape)}" + ("" if p.trainable else " (buffer)"))
    return "\n".join(lines)


class _Writer:
    """Accumulates DOT lines; node ids are the (unique) layer names."""

    def __init__(self):
        self.lines: list[str] = []

    def node(self, node_id: str, label: str, style: str, indent: int) -> None:
        self.lines.append("  " * indent + f"{quote(node_id)} [label={quote(label)}, {style}];")

    def edge(self, src: str, dst: str, shape, indent: int, extra: str = "") -> None:
        attrs = f"label={quote(shape_str(shape))}" + (f", {extra}" if extra else "")
        self.lines.append("  " * indent + f"{quote(src)} -> {quote(dst)} [{attrs}];")

    def layers(self, layers, prev: str, indent: int) -> str:
        """Write a sequence of layers fed by node `prev`; return the id of the last node."""
        for layer in layers:
            if layer.op == "residual":
                prev = self.residual(layer, prev, indent)
                continue
            kind = "activation" if getattr(OPS.get(layer.op), "kind", "") == "activation" else "layer"
            self.node(layer.name, layer_label(layer), _NODE_STYLE[kind], indent)
            self.edge(prev, layer.name, layer.in_shape, indent)
            prev = layer.name
        return prev

    def residual(self, layer: Layer, prev: str, indent: int) -> str:
        pad = "  " * indent
        add = f"{layer.name}.add"
        self.lines.append(f"{pad}subgraph {quote('cluster_' + layer.name)} {{")
        self.lines.append(f"{pad}  label={quote(layer.name + ': y = x + f(x)')}; style=dashed;")
        last = self.layers(layer.body, prev, indent + 1)
        self.node(add, "+", _NODE_STYLE["add"], indent + 1)
        self.edge(last, add, layer.body[-1].out_shape if layer.body else layer.in_shape, indent + 1)
        self.lines.append(f"{pad}}}")
        # the skip connection: the residual's input goes straight to the Add
        self.edge(prev, add, layer.in_shape, indent, 'style=dashed, color="#555555", constraint=false')
        return add


def to_dot(model: Model | Program) -> str:
    """DOT text of the model's compute graph (deterministic: same IR, same text)."""
    if isinstance(model, Program):
        model = model.model
    w = _Writer()
    w.lines += [f"digraph {quote(model.name)} {{",
                "  rankdir=TB;",
                '  node [fontname="Helvetica", fontsize=11];',
                '  edge [fontname="Helvetica", fontsize=9];']
    source = f"input:{model.input_name}"
    w.node(source, f"{model.input_name}\ninput {shape_str(model.input_shape)}", _NODE_STYLE["io"], 1)
    last = w.layers(model.layers, source, 1)
    # ":" cannot occur in a layer name, so the io node ids never collide with layers
    w.node("output:", f"output {shape_str(model.output_shape)}", _NODE_STYLE["io"], 1)
    w.edge(last, "output:", model.output_shape, 1)
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
