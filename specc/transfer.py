"""Transfer learning: start from trained weights (`init_from`) and keep some of them fixed (`freeze`).

Names in `init_from(..., layers=[...])` and `freeze = [...]` are layer names (`conv2d_1`)
or block-use names (`features`: every layer inside that use); the front end expands them to
the layer names that own parameters, so the printed spec (spec.nn, blocks expanded) keeps them.
Parameters are matched by their canonical keys (`<layer>.<param>`), so a run of another
model shares exactly the layers that have the same names and shapes.

The name rules and `frozen_keys` use the standard library only (`specc summary` and the
front end call them); reading weights (`apply_init_from`) imports NumPy when it runs.
"""
from __future__ import annotations

from pathlib import Path

from .errors import SpecError
from .ir import Pos, Program


def layers_named(layers, name: str) -> list:
    """The layers a name stands for: the layer itself, or every layer of a block use (nested ones too)."""
    return [layer for layer in layers if layer.name == name or layer.name.startswith(name + ".")
            or any(".".join(layer.scope[:d]) == name for d in range(1, len(layer.scope) + 1))]


def keys_of(program: Program, names, trainable_only: bool = False) -> list[str]:
    """Canonical keys of the parameters (and buffers, unless trainable_only) of the named layers, in model order."""
    chosen = {layer.name for n in names for layer in layers_named(program.all_layers(), n)}
    return [key for key, layer, p in program.all_params()
            if layer.name in chosen and (p.trainable or not trainable_only)]


def frozen_keys(program: Program) -> frozenset[str]:
    """The trainable parameters `freeze` names: no update, no weight decay, no optimizer state."""
    train = program.train
    if train is None or not train.freeze:
        return frozenset()
    return frozenset(keys_of(program, train.freeze, trainable_only=True))


def source_file(program: Program) -> Path:
    """The archive `init_from` reads: a run directory's weights.npz, or the npz itself."""
    src = program.train.init_from
    path = Path(src.path)
    if src.kind == "npz":
        return path
    if not path.is_dir():
        raise SpecError(f"init_from: {path} is not a run directory", src.pos,
                        hint="train the base model first (`specc train base.nn --out DIR`); "
                             "a relative path is read from the spec's directory")
    weights = path / "weights.npz"
    if not weights.exists():
        raise SpecError(f"init_from: {path} has no weights.npz (the run has not finished)", src.pos,
                        hint=f"finish it first: `specc train SPEC --resume {path}`")
    return weights


def apply_init_from(program: Program, params: dict) -> tuple[dict, list[str]]:
    """The initial parameters with those `init_from` provides replaced; also the keys taken.

    Every taken parameter must have the shape the model needs: all layers whose shapes differ
    are named in one error. Without `layers`, the parameters the source does not have keep
    their initial values (a new head), and a source sharing no name at all is an error.
    """
    import numpy as np

    from .checkpoint import load_weights

    src = program.train.init_from
    path = source_file(program)
    where = src.pos if src.pos.line else Pos(file=str(path))
    try:
        source = load_weights(path)
    except FileNotFoundError:
        raise SpecError(f"init_from: {path} does not exist", where,
                        hint="a relative path is read from the spec's directory") from None
    if src.layers is not None:
        keys = keys_of(program, src.layers)
        absent = sorted({k.rsplit(".", 1)[0] for k in keys if k not in source})
        if absent:
            raise SpecError(f"init_from: {path} has no parameters for {', '.join(f'`{n}`' for n in absent)}",
                            where, hint=f"it has: {_layer_list(source)}")
    else:
        keys = [k for k in params if k in source]
        if not keys:
            raise SpecError(f"init_from: {path} shares no parameter names with this model", where,
                            hint=f"it has: {_layer_list(source)}; the model's layers are named "
                                 f"{_layer_list(params)}")
    differ: dict[str, list[str]] = {}
    for k in keys:
        if tuple(source[k].shape) != tuple(params[k].shape):
            layer, short = k.rsplit(".", 1)
            differ.setdefault(layer, []).append(f"{short} {list(source[k].shape)} there, "
                                                f"{list(params[k].shape)} here")
    if differ:
        same = sorted({k.rsplit(".", 1)[0] for k in keys} - set(differ))
        detail = ", ".join(f"`{layer}` ({'; '.join(parts)})" for layer, parts in differ.items())
        raise SpecError(f"init_from: the shapes of {len(differ)} layer{'s' if len(differ) > 1 else ''} differ from "
                        f"{path}: {detail}", where,
                        hint=(f"take only the layers that fit: layers=[{', '.join(same)}]" if same else
                              "this model shares no layer shapes with that one") +
                        ", or give the new layers other names (name=\"...\")")
    bad = [k for k in keys if not np.isfinite(source[k]).all()]
    if bad:
        raise SpecError(f"init_from: {path} holds non-finite values in `{bad[0]}`", where)
    out = dict(params)
    for k in keys:
        out[k] = np.asarray(source[k], dtype=params[k].dtype).copy()
    return out, keys


def _layer_list(params) -> str:
    layers = list(dict.fromkeys(k.rsplit(".", 1)[0] for k in params))
    return ", ".join(layers[:12]) + (", ..." if len(layers) > 12 else "")
