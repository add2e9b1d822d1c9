"""`specc summary FILE`: a Keras-like table of layers, output shapes, parameter counts, initializers."""
from __future__ import annotations

import math

from ..ir import Layer, Program
from ..passes.layers import fmt_shape
from ._common import add_set_option, compile_spec


def register(sub) -> None:
    p = sub.add_parser("summary", help="layers, output shapes, parameter counts and initializers")
    p.add_argument("file", metavar="FILE")
    add_set_option(p)
    p.set_defaults(func=run)


def _rows(layers, depth=0):
    for layer in layers:
        yield depth, layer
        if layer.body:
            yield from _rows(layer.body, depth + 1)


def _count(layer: Layer, trainable: bool) -> int:
    return sum(math.prod(p.shape) for p in layer.params if p.trainable == trainable)


def _init(layer: Layer) -> str:
    w = [p for p in layer.params if p.name == "weight" and p.init not in ("ones", "constant")]
    if not w:
        return ""
    p = w[0]
    args = ", ".join(f"{v:g}" for v in p.init_args.values())
    return f"{p.init}({args})" if args else p.init


def format_summary(program: Program) -> str:
    m = program.model
    header = ("Layer", "Op", "Output shape", "Params", "Init")
    rows = [(m.input_name, "input", fmt_shape(m.input_shape), "0", "")]
    for depth, layer in _rows(m.layers):
        n = _count(layer, True) + _count(layer, False)
        rows.append(("  " * depth + layer.name, layer.op, fmt_shape(layer.out_shape), f"{n:,}", _init(layer)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "-" * (sum(widths) + 2 * (len(widths) - 1))

    def fmt(r):
        return "  ".join(c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    trainable = sum(_count(l, True) for _, l in _rows(m.layers))
    frozen = sum(_count(l, False) for _, l in _rows(m.layers))
    out = [f'Model "{m.name}"', line, fmt(header), line, *map(fmt, rows), line,
           f"Total params: {trainable + frozen:,}", f"Trainable params: {trainable:,}",
           f"Non-trainable params: {frozen:,}"]
    return "\n".join(out)


def run(args) -> int:
    print(format_summary(compile_spec(args)))
    return 0
