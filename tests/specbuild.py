"""Test programs written as spec text and compiled by the front end (no hand-made IR).

    program((1, 8, 8), [("conv2d", dict(filters=3, kernel=3)), ("relu", {}), ("residual", [...])])

Items are (op,) or (op, {argument: value}); a residual takes its body as a list (or
{"body": [...]}). Values print as a user writes them: tuples/lists as [a, b], a
four-sided pad (top, left, bottom, right) as `same` unless it is symmetric.
"""
from __future__ import annotations

import numpy as np

from specc.frontend import compile_text


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return repr(v) if isinstance(v, float) else str(v)


def _arg(key, v) -> str:
    if key == "pad" and isinstance(v, (list, tuple)) and len(v) == 4:
        t, left, b, r = v
        v = [t, left] if (t, left) == (b, r) else "same"
    if key == "name":
        return f'name="{v}"'
    return f"{key}={_value(v)}"


def body_lines(items, indent="    ") -> list[str]:
    out = []
    for item in items:
        op, given = item[0], (item[1] if len(item) > 1 else {})
        if op == "from":
            out.append(f"{indent}from {given['name']}")
            continue
        if op == "residual":
            inner = given["body"] if isinstance(given, dict) else given
            out += [f"{indent}residual {{", *body_lines(inner, indent + "    "), f"{indent}}}"]
            continue
        given = dict(given)
        refs = given.pop("refs", [])  # a merge's inputs, by name
        args = ", ".join([*refs, *(_arg(k, v) for k, v in given.items())])
        out.append(f"{indent}{op}" + (f"({args})" if args else ""))
    return out


def spec_text(in_shape, items, name="m", input_name="x", train: str | None = None) -> str:
    lines = [f"model {name} {{", f"    input {input_name} {_value(list(in_shape))}", *body_lines(items), "}"]
    if train:
        lines += ["train {", train, "}"]
    return "\n".join(lines) + "\n"


def program(in_shape, items, name="m", input_name="x", train: str | None = None):
    return compile_text(spec_text(in_shape, items, name, input_name, train), "test.nn")


def call(spec) -> str:
    """("adam", {"lr": 0.01}) or "mse" -> `adam(lr=0.01)` / `mse`."""
    if isinstance(spec, str):
        return spec
    name, args = spec
    return name + ("(" + ", ".join(_arg(k, v) for k, v in args.items()) + ")" if args else "")


def random_params(program, seed: int = 0, dtype=np.float32) -> dict:
    """Non-trivial values for every parameter and buffer: weights scaled by fan-in, biases and the rest
    O(0.5) (not left at their zero init), running variances in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, _layer, p in program.all_params():
        if p.name == "running_var":
            v = rng.uniform(0.5, 2.0, p.shape)
        elif p.name == "weight" and len(p.shape) > 1:
            v = rng.standard_normal(p.shape) / np.sqrt(max(p.fan_in, 1))
        else:
            v = rng.standard_normal(p.shape) * 0.5
        out[key] = v.astype(dtype)
    return out


def data_error(data_body: str) -> str:
    """The front end's rendered error for a `data { ... }` block (a small classifier around it)."""
    import pytest

    from specc.errors import SpecError, SpecErrors

    text = ("model m {\n  input [2]\n  dense(2); softmax\n}\n"
            f"data {{\n  {data_body}\n}}\n"
            "train { loss = cross_entropy; optimizer = sgd(lr=0.1) }\n")
    with pytest.raises((SpecError, SpecErrors)) as e:
        compile_text(text, "m.nn")
    return e.value.render()


# A model with two outputs from one hidden value (a classifier and a reconstruction): the graph
# tests and the per-output metrics tests share it.
TWO_HEADS = """
model two_heads {
    input x [6]
    dense(8); relu(name="h")
    dense(3); softmax
    output digit
    from h
    dense(6)
    output recon
}
"""


# Small real problems (model and data) that several test files train with their own `train` block.
XOR_NET = """
model xor {
    input x [2]
    dense(4)
    tanh
    dense(1)
    sigmoid
}
data {
    source = xor()
    split = [1.0, 0, 0]
}
"""
MOONS_NET = """
model moons {
    input x [2]
    dense(8)
    relu
    dense(2)
    softmax
}
data {
    source = moons(n=80, noise=0.1)
    split = [0.6, 0.2, 0.2]
    standardize = true
}
"""


def spirals_net(n: int, split: str) -> str:
    """The 2-8-2 spirals classifier of the torch driver tests, on n points split as given ("[0.8, 0.2, 0.0]")."""
    return ("\nmodel m {\n    input p [2]\n    dense(8)\n    tanh\n    dense(2)\n    softmax\n}\n"
            f"data {{ source = spirals(n={n}, noise=0.1); split = {split} }}\n")


def with_train(net: str, **train) -> str:
    """`net` (model and data) with a train block of these keys, in this order: with_train(XOR_NET, loss="mse")."""
    return net + "train {\n" + "".join(f"    {k} = {v}\n" for k, v in train.items()) + "}\n"
