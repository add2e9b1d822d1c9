"""The compute graph as SVG without Graphviz, for `specc report` when `dot` is not installed.

Drawn from the same data as specc/graph.py's DOT text: the model's inputs, its
layers in their (topological) order and its outputs, one below the other, with
graph.layer_label in the boxes and graph.shape_str on the edges. An edge from
the node just above is a straight arrow; one that skips ahead (a residual's
shortcut, a branch taken with `from`, a second input) is a dashed line in its
own lane on the left, as graph.py dashes it. Merges (add, multiply, concat) are
small round nodes. Only the standard library is used.
"""
from __future__ import annotations

from html import escape

from .graph import layer_label, shape_str
from .ir import Model, Program
from .ops import OPS

WIDTH = 460
LANE = 14       # horizontal distance between the lanes of skip edges
LINE = 15       # text line height
GAP = 34        # vertical space for an edge and its label
FILL = {"layer": "#dbe9f6", "activation": "#fdf0d5", "io": "#e8e8e8", "merge": "#e8e8e8"}
MERGE_SYMBOL = {"add": "+", "multiply": "×", "concat": "⧺"}


class _Canvas:
    def __init__(self, left: float):
        self.parts: list[str] = []
        self.y = 10.0
        self.left = left                     # x of the column's left edge (skip lanes are to its left)
        self.centre = (left + WIDTH - 10) / 2
        self.nodes: dict[str, tuple[float, float, float, float]] = {}  # id -> (top, bottom, left x, entry y)
        self.order: list[str] = []
        self.lanes = 0

    def box(self, node_id: str, lines: list[str], fill: str, rounded: int = 6) -> None:
        if self.order:
            self.y += GAP
        w = WIDTH - 10 - self.left
        h = LINE * len(lines) + 10
        top = self.y
        self.parts.append(f'<rect x="{self.left}" y="{top}" width="{w}" height="{h}" rx="{rounded}" fill="{fill}" '
                          'stroke="#333" stroke-width="1"/>')
        for i, line in enumerate(lines):
            weight = ' font-weight="bold"' if i == 0 else ""
            self.parts.append(f'<text x="{self.centre}" y="{top + 2 + LINE * (i + 1)}" text-anchor="middle"'
                              f'{weight}>{escape(line)}</text>')
        self._place(node_id, top, top + h, self.left, top + 8)

    def circle(self, node_id: str, symbol: str, name: str | None) -> None:
        if self.order:
            self.y += GAP
        r = 12
        top = self.y
        self.parts.append(f'<circle cx="{self.centre}" cy="{top + r}" r="{r}" fill="{FILL["merge"]}" stroke="#333"/>')
        self.parts.append(f'<text x="{self.centre}" y="{top + r + 5}" text-anchor="middle" font-weight="bold">'
                          f'{escape(symbol)}</text>')
        if name:
            self.parts.append(f'<text x="{self.centre + r + 6}" y="{top + r + 4}" font-size="11">{escape(name)}</text>')
        self._place(node_id, top, top + 2 * r, self.centre - r, top + r)

    def _place(self, node_id: str, top: float, bottom: float, left: float, entry: float) -> None:
        self.nodes[node_id] = (top, bottom, left, entry)
        self.order.append(node_id)
        self.y = bottom

    def edge(self, src: str, dst: str, shape) -> None:
        label = escape(shape_str(shape))
        s_top, s_bottom, s_left, _ = self.nodes[src]
        d_top, _, d_left, d_entry = self.nodes[dst]
        if self.order.index(dst) - self.order.index(src) == 1:
            self.parts.append(f'<line x1="{self.centre}" y1="{s_bottom}" x2="{self.centre}" y2="{d_top - 5}" '
                              'stroke="#333" marker-end="url(#arrow)"/>')
            self.parts.append(f'<text x="{self.centre + 8}" y="{(s_bottom + d_top) / 2 + 4}" font-size="10" '
                              f'fill="#444">{label}</text>')
            return
        self.lanes += 1
        x = self.left - LANE * self.lanes
        y0, y1 = (s_top + s_bottom) / 2, d_entry
        self.parts.append(f'<path d="M {s_left} {y0} L {x} {y0} L {x} {y1} L {d_left - 4} {y1}" fill="none" '
                          'stroke="#555" stroke-dasharray="4,3" marker-end="url(#arrow)"/>')
        self.parts.append(f'<text x="{x - 3}" y="{(y0 + y1) / 2}" font-size="10" fill="#444" text-anchor="end">'
                          f'{label}</text>')


def _skips(model: Model) -> int:
    """How many edges do not come from the node just above (each needs a lane)."""
    order = [f"input:{i.name}" for i in model.inputs] + [layer.name for layer in model.layers]
    node_of = {i.name: f"input:{i.name}" for i in model.inputs}
    count, previous = 0, None
    for index, layer in enumerate(model.layers, len(model.inputs)):
        previous = order[index - 1]
        count += sum(1 for value in layer.inputs if node_of.get(value, value) != previous)
    last = order[-1] if order else None
    for n, out in enumerate(model.outputs):
        count += node_of.get(out.value, out.value) != (last if n == 0 else f"output:{model.outputs[n - 1].name}")
    return count


def graph_svg(model: Model | Program) -> str:
    """An <svg> element of the model's compute graph."""
    if isinstance(model, Program):
        model = model.model
    canvas = _Canvas(left=40 + LANE * _skips(model) + 40)  # room for the skip lanes and their labels
    node_of = {}
    for inp in model.inputs:
        node_of[inp.name] = f"input:{inp.name}"
        canvas.box(node_of[inp.name], [inp.name, f"input {shape_str(inp.shape)}"], FILL["io"], rounded=18)
    for layer in model.layers:
        kind = getattr(OPS.get(layer.op), "kind", "layer")
        if kind == "merge":
            canvas.circle(layer.name, MERGE_SYMBOL.get(layer.op, layer.op),
                          None if layer.name.startswith(layer.op) else layer.name)
        else:
            canvas.box(layer.name, layer_label(layer).split("\n"), FILL["activation" if kind == "activation" else "layer"])
        for value, shape in zip(layer.inputs, layer.in_shapes):
            canvas.edge(node_of.get(value, value), layer.name, shape)
    for out in model.outputs:
        node = f"output:{out.name}"
        shape = model.value_shape(out.value)
        canvas.box(node, [out.name, f"output {shape_str(shape)}"], FILL["io"], rounded=18)
        canvas.edge(node_of.get(out.value, out.value), node, shape)
    height = canvas.y + 10
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>'
            + "".join(canvas.parts) + "</svg>")
