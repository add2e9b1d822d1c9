"""Hand-built IR for the torch tests (independent of the front end).

`program([4], [("dense", {"units": 3}), ("relu", {})], loss="mse", optimizer=("sgd", {"lr": 0.1}))`
fills defaults from specc.ops.OPS, infers shapes, names layers `<op>_<n>` and
creates the parameters the way the passes do (init rules need only be valid).
"""
from __future__ import annotations

from specc.ir import Layer, Model, Param, Program, Spec, TrainSpec
from specc.ops import LOSSES, OPS, OPTIMIZERS, REQUIRED, SCHEDULES


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _attrs(op, given):
    attrs = {}
    for a in OPS[op].args:
        if a.name in given:
            v = given[a.name]
        elif a.default is REQUIRED:
            raise KeyError(f"{op} needs {a.name}")
        else:
            v = a.default
        if a.type == "pair" and v is not None:
            v = _pair(v)
        if a.type == "pad":
            v = tuple(v) if isinstance(v, (tuple, list)) else (v, v, v, v)
        attrs[a.name] = v
    if op in ("maxpool", "avgpool", "l2pool") and attrs["stride"] is None:
        attrs["stride"] = attrs["size"]
    return attrs


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def _layer(op, given, shape, counts, body=()):
    counts[op] = counts.get(op, 0) + 1
    name = given.pop("name", f"{op}_{counts[op]}")
    attrs = _attrs(op, given)
    params = ()
    out = shape
    if op == "dense":
        out = (attrs["units"],)
        params = (Param("weight", (attrs["units"], shape[0]), "glorot_normal", fan_in=shape[0], fan_out=attrs["units"], decay=True),)
        if attrs["bias"]:
            params += (Param("bias", (attrs["units"],), "normal", {"std": 0.1}),)
    elif op == "maxout":
        k = attrs["units"] * attrs["pieces"]
        out = (attrs["units"],)
        params = (Param("weight", (k, shape[0]), "glorot_normal", fan_in=shape[0], fan_out=k, decay=True),
                  Param("bias", (k,), "normal", {"std": 0.1}))
    elif op == "conv2d":
        (kh, kw), (sh, sw), (t, l, b, r) = attrs["kernel"], attrs["stride"], attrs["pad"]
        c, h, w = shape
        out = (attrs["filters"], (h + t + b - kh) // sh + 1, (w + l + r - kw) // sw + 1)
        params = (Param("weight", (attrs["filters"], c, kh, kw), "he_normal", fan_in=c * kh * kw, decay=True),)
        if attrs["bias"]:
            params += (Param("bias", (attrs["filters"],), "normal", {"std": 0.1}),)
    elif op in ("maxpool", "avgpool", "l2pool"):
        (kh, kw), (sh, sw) = attrs["size"], attrs["stride"]
        c, h, w = shape
        out = (c, (h - kh) // sh + 1, (w - kw) // sw + 1)
    elif op == "flatten":
        out = (_prod(shape),)
    elif op == "batchnorm":
        c = shape[0]
        params = (Param("weight", (c,), "uniform", {"limit": 1.0}), Param("bias", (c,), "normal", {"std": 0.1}),
                  Param("running_mean", (c,), "zeros", trainable=False), Param("running_var", (c,), "ones", trainable=False))
    elif op == "prelu":
        params = (Param("weight", (1,), "constant", {"value": attrs["alpha"]}),)
    return Layer(name=name, op=op, attrs=attrs, in_shape=tuple(shape), out_shape=tuple(out), params=params, body=tuple(body))


def layers(input_shape, specs, counts=None):
    counts = {} if counts is None else counts
    shape, out = tuple(input_shape), []
    for spec in specs:
        op, given = spec[0], dict(spec[1]) if len(spec) > 1 else {}
        if op == "residual":
            body = layers(shape, given.pop("body"), counts)
            counts["residual"] = counts.get("residual", 0) + 1
            out.append(Layer(name=f"residual_{counts['residual']}", op="residual", attrs={}, in_shape=shape,
                             out_shape=shape, body=tuple(body)))
            continue
        layer = _layer(op, given, shape, counts)
        out.append(layer)
        shape = layer.out_shape
    return out


def program(input_shape, specs, loss="mse", optimizer=("sgd", {"lr": 0.1}), schedule=("constant", {}),
            batch=8, steps=50, seed=0, **train):
    ls = layers(input_shape, specs)
    lname, largs = (loss, {}) if isinstance(loss, str) else loss
    largs = {**LOSSES[lname][0], **largs}
    oname, oargs = optimizer
    oargs = {**{k: v for k, v in OPTIMIZERS[oname].items() if v is not REQUIRED}, **oargs}
    sname, sargs = schedule
    sargs = {"per": "step", **{k: v for k, v in SCHEDULES[sname].items() if v is not REQUIRED}, **sargs}
    t = TrainSpec(loss=Spec(lname, largs), optimizer=Spec(oname, oargs), schedule=Spec(sname, sargs),
                  batch=batch, epochs=None, steps=steps, seed=seed, **train)
    return Program(model=Model("m", "x", tuple(input_shape), tuple(ls)), data=None, train=t)
