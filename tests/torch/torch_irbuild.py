"""Test programs for the torch tests, compiled from spec text (tests/specbuild.py).

`program([4], [("dense", {"units": 3}), ("relu",)], loss="mse", optimizer=("sgd", {"lr": 0.1}))`
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from specbuild import call, program as _program  # noqa: E402


def program(input_shape, specs, loss="mse", optimizer=("sgd", {"lr": 0.1}), schedule=("constant", {}),
            batch=8, steps=50, seed=0, **train):
    name = loss if isinstance(loss, str) else loss[0]
    fused = {"cross_entropy": "softmax", "nll": "log_softmax", "bce": "sigmoid"}
    last = specs[-1][0] if specs else None
    if last in ("softmax", "log_softmax") and fused.get(name) != last:
        specs = [*specs, ("identity",)]  # the front end refuses e.g. mse on softmax; the op is still tested
    sname, sargs = schedule
    lines = [f"    loss = {call(loss)}", f"    optimizer = {call(optimizer)}",
             f"    schedule = {call((sname, sargs))}", f"    batch = {batch}", f"    steps = {steps}",
             f"    seed = {seed}"] + [f"    {k} = {v}" for k, v in train.items()]
    return _program(input_shape, specs, train="\n".join(lines))
