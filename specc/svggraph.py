"""The compute graph as SVG without Graphviz, for `specc report` when `dot` is not installed.

Drawn from the same data as specc/graph.py's DOT text (the IR's layers, with
graph.layer_label for the boxes and graph.shape_str for the edge labels): a
top-to-bottom chain, one box per layer, each edge labelled with the shape it
carries; a `residual` is a dashed frame around its body ending in a `+`, with the
dashed skip edge on its left. Only the standard library is used.
"""
from __future__ import annotations

from html import escape

from .graph import layer_label, shape_str
from .ir import Model, Program
from .ops import OPS

WIDTH = 420
LINE = 15     # text line height
GAP = 34      # vertical space for an edge and its label
INDENT = 22   # a residual's body is drawn this much further in on each side
FILL = {"layer": "#dbe9f6", "activation": "#fdf0d5", "io": "#e8e8e8"}


class _Canvas:
    def __init__(self):
        self.parts: list[str] = []
        self.y = 10

    def box(self, lines: list[str], fill: str, depth: int, rounded: int = 6) -> tuple[float, float]:
        """A box holding `lines` (the first in bold) at the current height; returns (top, bottom)."""
        x = 10 + depth * INDENT
        w = WIDTH - 2 * x
        h = LINE * len(lines) + 10
        top = self.y
        self.parts.append(f'<rect x="{x}" y="{top}" width="{w}" height="{h}" rx="{rounded}" fill="{fill}" '
                          'stroke="#333" stroke-width="1"/>')
        for i, line in enumerate(lines):
            weight = ' font-weight="bold"' if i == 0 else ""
            self.parts.append(f'<text x="{WIDTH / 2}" y="{top + 5 + LINE * (i + 1) - 3}" text-anchor="middle"'
                              f'{weight}>{escape(line)}</text>')
        self.y += h
        return top, self.y

    def edge(self, y0: float, y1: float, label: str) -> None:
        cx = WIDTH / 2
        self.parts.append(f'<line x1="{cx}" y1="{y0}" x2="{cx}" y2="{y1 - 5}" stroke="#333" '
                          'marker-end="url(#arrow)"/>')
        self.parts.append(f'<text x="{cx + 8}" y="{(y0 + y1) / 2 + 4}" font-size="10" fill="#444">'
                          f'{escape(label)}</text>')

    def gap(self) -> None:
        self.y += GAP


def _chain(canvas: _Canvas, layers, prev_bottom: float, depth: int) -> float:
    """Draw `layers` below the node ending at prev_bottom; return the bottom of the last node."""
    for layer in layers:
        if layer.op == "residual":
            prev_bottom = _residual(canvas, layer, prev_bottom, depth)
            continue
        canvas.gap()
        kind = "activation" if getattr(OPS.get(layer.op), "kind", "") == "activation" else "layer"
        top, bottom = canvas.box(layer_label(layer).split("\n"), FILL[kind], depth)
        canvas.edge(prev_bottom, top, shape_str(layer.in_shape))
        prev_bottom = bottom
    return prev_bottom


def _residual(canvas: _Canvas, layer, prev_bottom: float, depth: int) -> float:
    canvas.gap()
    frame_top = canvas.y - GAP / 2
    start = len(canvas.parts)
    canvas.y += LINE  # room for the frame's title
    body_bottom = _chain(canvas, layer.body, prev_bottom, depth + 1)
    canvas.gap()
    cx, r = WIDTH / 2, 11
    add_top = canvas.y
    canvas.parts.append(f'<circle cx="{cx}" cy="{add_top + r}" r="{r}" fill="#e8e8e8" stroke="#333"/>')
    canvas.parts.append(f'<text x="{cx}" y="{add_top + r + 5}" text-anchor="middle" font-weight="bold">+</text>')
    out_shape = layer.body[-1].out_shape if layer.body else layer.in_shape
    canvas.edge(body_bottom, add_top, shape_str(out_shape))
    canvas.y += 2 * r + 8
    x = 10 + depth * INDENT + 4
    frame = (f'<rect x="{x}" y="{frame_top}" width="{WIDTH - 2 * x}" height="{canvas.y - frame_top}" fill="none" '
             'stroke="#777" stroke-dasharray="5,3"/>'
             f'<text x="{x + 6}" y="{frame_top + LINE}" font-size="11" fill="#555">'
             f'{escape(layer.name)}: y = x + f(x)</text>')
    canvas.parts.insert(start, frame)
    # the skip connection: from the residual's input, down the left side, into the +
    sx = x + 10
    canvas.parts.append(f'<path d="M {WIDTH / 2 - 20} {prev_bottom} L {sx} {prev_bottom + 12} L {sx} {add_top + r} '
                        f'L {cx - r - 4} {add_top + r}" fill="none" stroke="#555" stroke-dasharray="4,3" '
                        'marker-end="url(#arrow)"/>')
    return add_top + 2 * r


def graph_svg(model: Model | Program) -> str:
    """An <svg> element of the model's compute graph."""
    if isinstance(model, Program):
        model = model.model
    canvas = _Canvas()
    _, bottom = canvas.box([model.input_name, f"input {shape_str(model.input_shape)}"], FILL["io"], 2, rounded=18)
    bottom = _chain(canvas, model.layers, bottom, 0)
    canvas.gap()
    top, _ = canvas.box([f"output {shape_str(model.output_shape)}"], FILL["io"], 2, rounded=18)
    canvas.edge(bottom, top, shape_str(model.output_shape))
    height = canvas.y + 10
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>'
            + "".join(canvas.parts) + "</svg>")
