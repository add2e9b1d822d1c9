"""Hand-built IR for tests (until/besides the front end): a tiny layer builder.

`program((1, 8, 8), [("conv2d", dict(filters=3, kernel=3)), ("relu", {}), ...])`
fills in shapes, default names (`<op>_<n>`), resolved attrs and params the way
the passes do (ARCHITECTURE.md / specc/ops.py), so exporter tests do not depend
on the parser.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from specc.ir import Layer, Model, Param, Pos, Program
from specc.ops import OPS


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _resolve(op, attrs):
    a = {arg.name: arg.default for arg in OPS[op].args}
    a.update(attrs)
    if op == "conv2d":
        a["kernel"], a["stride"] = _pair(a["kernel"]), _pair(a["stride"])
        if not isinstance(a["pad"], (tuple, list)):
            a["pad"] = (a["pad"],) * 4
        a["pad"] = tuple(a["pad"])
    if op in ("maxpool", "avgpool", "l2pool"):
        a["size"] = _pair(a["size"])
        a["stride"] = _pair(a["stride"]) if a["stride"] is not None else a["size"]
    if a.get("init") == "auto":
        a["init"] = "glorot_normal"
    return a


def _shape_and_params(op, a, s):
    if op == "dense":
        (f,) = s
        ps = [Param("weight", (a["units"], f), "glorot_normal", fan_in=f, fan_out=a["units"], decay=True)]
        if a["bias"]:
            ps.append(Param("bias", (a["units"],), "zeros"))
        return (a["units"],), ps
    if op == "maxout":
        (f,) = s
        n = a["units"] * a["pieces"]
        return (a["units"],), [Param("weight", (n, f), "glorot_normal", fan_in=f, fan_out=n, decay=True),
                               Param("bias", (n,), "zeros")]
    if op == "conv2d":
        c, h, w = s
        (kh, kw), (sh, sw), (t, l, b, r) = a["kernel"], a["stride"], a["pad"]
        out = (a["filters"], (h + t + b - kh) // sh + 1, (w + l + r - kw) // sw + 1)
        ps = [Param("weight", (a["filters"], c, kh, kw), "he_normal", fan_in=c * kh * kw, decay=True)]
        if a["bias"]:
            ps.append(Param("bias", (a["filters"],), "zeros"))
        return out, ps
    if op in ("maxpool", "avgpool", "l2pool"):
        c, h, w = s
        (kh, kw), (sh, sw) = a["size"], a["stride"]
        return (c, (h - kh) // sh + 1, (w - kw) // sw + 1), []
    if op == "flatten":
        return (int(np.prod(s)),), []
    if op == "batchnorm":
        c = s[0]
        return s, [Param("weight", (c,), "ones"), Param("bias", (c,), "zeros"),
                   Param("running_mean", (c,), "zeros", trainable=False),
                   Param("running_var", (c,), "ones", trainable=False)]
    if op == "prelu":
        return s, [Param("weight", (1,), "constant", {"value": a["alpha"]})]
    return s, []


def layers(in_shape, items, counter=None, line=1):
    """Resolve a list of (op, attrs) or ("residual", [items]) into Layers; returns (layers, out_shape)."""
    counter = counter if counter is not None else Counter()
    out, s = [], tuple(in_shape)
    for op, attrs in items:
        counter[op] += 1
        if op == "residual":
            name = f"residual_{counter[op]}"
            body, s2 = layers(s, attrs, counter, line + 1)
            assert s2 == s, "residual body must keep the shape"
            out.append(Layer(name, op, {}, s, s, (), tuple(body), Pos("test.nn", line, 5)))
            line += len(attrs) + 1
            continue
        attrs = dict(attrs)
        name = attrs.pop("name", f"{op}_{counter[op]}")
        a = _resolve(op, attrs)
        s2, ps = _shape_and_params(op, a, s)
        out.append(Layer(name, op, a, s, s2, tuple(ps), (), Pos("test.nn", line, 5)))
        s, line = s2, line + 1
    return out, s


def program(in_shape, items, name="m", input_name="x") -> Program:
    ls, _ = layers(in_shape, items)
    return Program(Model(name, input_name, tuple(in_shape), tuple(ls), Pos("test.nn", 1, 1)), None, None,
                   path="test.nn")


def random_params(prog: Program, seed=0) -> dict[str, np.ndarray]:
    """Non-trivial values for every parameter (random biases, positive variances)."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, _layer, p in prog.all_params():
        if p.name == "running_var":
            v = rng.uniform(0.5, 2.0, p.shape)
        elif p.name == "weight" and len(p.shape) > 1:
            v = rng.standard_normal(p.shape) / np.sqrt(max(p.fan_in, 1))
        else:
            v = rng.standard_normal(p.shape) * 0.5
        out[key] = v.astype(np.float32)
    return out
