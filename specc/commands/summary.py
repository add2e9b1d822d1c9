"""`specc summary FILE`: a Keras-like table of layers, output shapes, parameter counts, initializers."""
from __future__ import annotations

import math

from ..ir import Layer, Program
from ..ops.base import init_text
from ..transfer import frozen_keys
from ..passes.layers import fmt_shape
from ._common import add_set_option, compile_spec


def register(sub) -> None:
    p = sub.add_parser("summary", help="layers, output shapes, parameter counts and initializers")
    p.add_argument("file", metavar="FILE")
    add_set_option(p)
    p.set_defaults(func=run)


def _count(layer: Layer, trainable: bool) -> int:
    return sum(math.prod(p.shape) for p in layer.params if p.trainable == trainable)


def _init(layer: Layer) -> str:
    # the weight's rule (recurrent layers: PyTorch's name for the input weights)
    w = [p for p in layer.params if p.name in ("weight", "weight_ih_l0") and p.init not in ("ones", "constant")]
    if not w:
        return ""
    p = w[0]
    return init_text(p.init, p.init_args)


def format_summary(program: Program) -> str:
    m = program.model
    chain = _is_chain(m)
    header = ("Layer", "Op", "Output shape", "Params", "Init") + (() if chain else ("Takes",))
    rows = [(i.name, "input", fmt_shape(i.shape) + (" int" if i.dtype == "int" else ""), "0", "")
            + (() if chain else ("",)) for i in m.inputs]
    frozen_keys_ = frozen_keys(program)
    frozen_count = 0
    for layer in m.layers:
        n = _count(layer, True) + _count(layer, False)
        frozen = sum(math.prod(p.shape) for p in layer.params if layer.key(p.name) in frozen_keys_)
        frozen_count += frozen
        count = f"{n:,}" + (" frozen" if frozen == _count(layer, True) and frozen else
                            f" ({frozen:,} frozen)" if frozen else "")
        row = (layer.name, layer.op, fmt_shape(layer.out_shape), count, _init(layer))
        rows.append(row + (() if chain else (", ".join(layer.inputs),)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "-" * (sum(widths) + 2 * (len(widths) - 1))

    def fmt(r):
        return "  ".join(c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    trainable = sum(_count(layer, True) for layer in m.layers)
    frozen = sum(_count(layer, False) for layer in m.layers)
    out = [f'Model "{m.name}"', line, fmt(header), line, *map(fmt, rows), line]
    if len(m.outputs) > 1 or not chain:
        out += [f"Output {o.name}: {o.value} {fmt_shape(m.value_shape(o.value))}" for o in m.outputs] + [line]
    out += [f"Total params: {trainable + frozen:,}", f"Trainable params: {trainable - frozen_count:,}",
            f"Non-trainable params: {frozen + frozen_count:,}"]  # buffers, and frozen weights as Keras counts them
    if frozen_count:
        out.append(f"Frozen params (train.freeze): {frozen_count:,}")
    from ..limits import model_memory_lines

    out += [text[0].upper() + text[1:] for text in
            model_memory_lines(program, program.train.batch if program.train else None)]
    return "\n".join(out)


def _is_chain(m) -> bool:
    """One input, each layer taking the one before (residual adds aside): shown as a plain table."""
    if len(m.inputs) != 1 or len(m.outputs) != 1:
        return False
    previous = m.inputs[0].name
    for layer in m.layers:
        if layer.inputs[0] != previous:
            return False
        previous = layer.name
    return True


def run(args) -> int:
    print(format_summary(compile_spec(args)))
    return 0
