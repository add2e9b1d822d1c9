"""Which padding mask reaches which value: decided from the graph, before any data.

A mask is [N, T] bool, True = a real token. `embedding(pad=p)` makes one (tokens
!= p); an op carries its input's mask to its output when the output keeps the
time axis (`OpDef.keeps_mask`, a sequence output of the same length); ops that
change or drop the time axis (global pools, last, flatten) end it. A merge
carries the masks of all its inputs (a position is real when it is real in
every one). Because only model inputs are token ids, every mask is a function
of the model inputs alone: `sources` names, per value, the embedding layers
whose masks apply, and each backend computes those from the inputs.

Standard library only (the front end and `specc summary` use it).
"""
from __future__ import annotations

from .ir import Model
from .ops import OPS

Sources = tuple  # embedding layer names, sorted; () = unmasked


def value_sources(model: Model) -> dict[str, Sources]:
    """For every value (inputs and layer outputs), the embeddings whose padding masks apply to it."""
    out: dict[str, Sources] = {i.name: () for i in model.inputs}
    for layer in model.layers:
        op = OPS[layer.op]
        if op.makes_mask(layer.attrs):
            out[layer.name] = (layer.name,)
            continue
        keeps = (op.keeps_mask and len(layer.out_shape) == 2 and len(layer.in_shape) == 2
                 and layer.out_shape[0] == layer.in_shape[0])
        out[layer.name] = input_sources(layer, out) if keeps else ()
    return out


def input_sources(layer, values: dict[str, Sources]) -> Sources:
    """The masks that apply to a layer's input(s): the union over the values it takes."""
    names: set = set()
    for v in layer.inputs:
        names.update(values.get(v, ()))
    return tuple(sorted(names))


def layer_sources(model: Model) -> dict[str, Sources]:
    """For every layer, the masks of its input (what `ctx.mask` / `mask=` is built from)."""
    values = value_sources(model)
    return {layer.name: input_sources(layer, values) for layer in model.layers}


def pad_tokens(model: Model) -> dict[str, tuple[str, int]]:
    """Embedding layer name -> (the model input holding its tokens, the pad id), for masking embeddings."""
    return {layer.name: (layer.inputs[0], int(layer.attrs["pad"])) for layer in model.layers
            if OPS[layer.op].makes_mask(layer.attrs)}


def output_sources(model: Model) -> list[Sources]:
    """The masks of each model output, in output order."""
    values = value_sources(model)
    return [values.get(o.value, ()) for o in model.outputs]


def numpy_mask(model: Model, xs: dict, sources: Sources):
    """The [N, T] bool mask for `sources` from the input arrays by name (None when unmasked); NumPy only."""
    if not sources:
        return None
    pads = pad_tokens(model)
    mask = None
    for name in sources:
        tokens, pad = pads[name]
        m = xs[tokens] != pad
        mask = m if mask is None else mask & m
    return mask
