"""The one list of op cases every backend runs: the `examples` of every op definition.

A case is one `Example` of one `OpDef` in specc.ops.OPS. It becomes a spec
written as text (`model m { input x [shape]; <body> }` plus a train block) and
compiled by the front end, so the backends see exactly what a user's spec
produces. Parameters are random (biases non-zero, running variances positive),
not left at their initial values, so a wrong bias or statistics path shows.
The backend tests (test_numpy, test_torch, test_onnx) all read `CASES` and the
helpers below; adding a case is one `Example(...)` line in specc/ops/.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import os
import sys

import numpy as np
import pytest

from specc.frontend import compile_text
from specc.ir import Program
from specc.ops import OPS, Example

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from specbuild import random_params as _random_params  # noqa: E402

# The train block only has to be valid: the suite differentiates L = sum(outputs * R) itself.
# mse, except where the front end wants the loss fused with the output activation.
FUSED_LOSS = {"softmax": "cross_entropy", "log_softmax": "nll"}
KINK_MARGIN = 0.05  # inputs stay this far from a kink: far beyond the finite-difference step


@dataclass(frozen=True)
class Case:
    op: str
    index: int
    example: Example

    @property
    def id(self) -> str:
        return f"{self.op}-{self.index}"

    def spec_text(self) -> str:
        ex = self.example
        shape = "[" + ", ".join(str(d) for d in ex.input) + "]"
        kind = " int" if ex.tokens else ""
        lines = ["model m {", f"    input x {shape}{kind}", f"    {ex.body}", "}"]
        last_op = compile_text("\n".join(lines) + "\n", f"{self.id}.nn").model.output_op
        lines += ["train {", f"    loss = {FUSED_LOSS.get(last_op, 'mse')}", "    optimizer = sgd(lr=0.1)", "}"]
        return "\n".join(lines) + "\n"

    @property
    def program(self) -> Program:
        return _compiled(self)


@functools.lru_cache(maxsize=None)
def _compiled(case: Case) -> Program:
    return compile_text(case.spec_text(), f"{case.id}.nn")


CASES = [Case(name, i, ex) for name, op in OPS.items() for i, ex in enumerate(op.examples)]
IDS = [c.id for c in CASES]


def batch_cases(cases=None):
    """(case, batch size) pairs, one per batch size in each case's `batches`."""
    return [pytest.param(c, n, id=f"{c.id}-n{n}") for c in (CASES if cases is None else cases)
            for n in c.example.batches]


def make_input(example: Example, batch: int, seed: int = 0, dtype=np.float64) -> np.ndarray:
    """One batch as the example asks: distinct values, positive values, or away from the kinks.

    Token inputs are int64 ids in [1, tokens); padded ones end in padding (id 0): example i
    keeps its first T - (2 i mod T) tokens (the first is complete, none is all padding).
    """
    rng = np.random.default_rng(seed)
    shape = (batch, *example.input)
    if example.tokens:
        x = rng.integers(1, example.tokens, shape).astype(np.int64)
        if example.padded:
            t = shape[1]
            for i in range(batch):
                x[i, t - (2 * i) % t:] = 0
        return x
    if example.distinct:  # a shuffled grid: values differ by >= 4/size, so every max is unique
        n = int(np.prod(shape))
        x = (rng.permutation(n) * (4.0 / n) - 2.0).reshape(shape)
    elif example.positive:
        x = rng.uniform(0.5, 2.0, shape)
    else:
        x = (rng.uniform(-2.5, 2.5, shape) if example.kinks else rng.standard_normal(shape)) * example.spread
        for k in example.kinks:
            near = np.abs(x - k) < KINK_MARGIN
            x = np.where(near, x + np.where(x >= k, KINK_MARGIN, -KINK_MARGIN), x)
    return x.astype(dtype)


def random_params(program: Program, seed: int = 0, dtype=np.float64) -> dict[str, np.ndarray]:
    """Every parameter and buffer, random (tests/specbuild.py's rule), float64 by default."""
    return _random_params(program, seed, dtype)


def trainable_keys(program: Program) -> list[str]:
    return [key for key, _layer, p in program.all_params() if p.trainable]


def buffer_keys(program: Program) -> list[str]:
    return [key for key, _layer, p in program.all_params() if not p.trainable]


def output_weights(program: Program, batch: int, seed: int = 1, dtype=np.float64) -> list[np.ndarray]:
    """R, one fixed random array per output: the suite's scalar is L = sum(outputs * R)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch, *program.model.value_shape(o.value))).astype(dtype)
            for o in program.model.outputs]


# -- the NumPy reference, through the whole compiled model ------------------------------------
def numpy_context(training: bool):
    """A fresh context with a fixed dropout stream, so repeated forwards see the same mask."""
    from specc.backends.numpy.ops import Context

    return Context(training, rng=np.random.default_rng(123))


def numpy_run(program: Program, params: dict, x: np.ndarray, rs: list, training: bool):
    """(outputs, d input, canonical grads) of L = sum(outputs * R); buffers in `params` update in place."""
    from specc.backends.numpy.model import Network

    net = Network(program.model, params)
    tape: list = []
    env = net.forward(x, numpy_context(training), tape=tape, input_grad=True)
    outs = [env[o.value] for o in program.model.outputs]
    dvalues: dict = {}
    for o, r in zip(program.model.outputs, rs):
        dvalues[o.value] = dvalues[o.value] + r if o.value in dvalues else r
    dvalues, grads = net.backward(dvalues, tape)
    return outs, dvalues.get(program.model.input_name), grads  # None for token ids


def numpy_loss(program: Program, params: dict, x: np.ndarray, rs: list, training: bool) -> float:
    from specc.backends.numpy.model import Network

    env = Network(program.model, params).forward(x, numpy_context(training))
    return float(sum((env[o.value] * r).sum() for o, r in zip(program.model.outputs, rs)))
