"""Runs a model's layer tree forward and backward with the NumPy ops.

The forward pass records a tape: (layer, cache) per layer, and for a residual
(layer, sub-tape) — y = x + f(x), so its backward is dy + f'(x)^T dy.
Gradients come back keyed canonically ("dense_1.weight"). The dtype follows
the parameters: float32 normally, float64 for gradient checks.
"""
from __future__ import annotations

import numpy as np

from specc.ir import Model

from . import losses
from .ops import OPS, Context


class Network:
    """A Model bound to a dict of parameter arrays (shared, updated in place by the optimizer).

    `loss` is the train block's loss Spec (or None): it decides whether the
    last activation is fused into the loss.
    """

    def __init__(self, model: Model, params: dict[str, np.ndarray], loss=None):
        self.model = model
        self.layers = tuple(model.layers)
        self.loss = loss
        self.fused = bool(loss and self.layers and losses.fused_with(loss.name, self.layers[-1].op))
        # with a fused loss, training stops at the logits (the input of the last activation)
        self.body = self.layers[:-1] if self.fused else self.layers
        self.steepness = float(self.layers[-1].attrs.get("steepness", 1.0)) if self.fused else 1.0
        self.bind(params)

    def bind(self, params: dict[str, np.ndarray]) -> None:
        """Point every layer at its parameter arrays (by short name)."""
        self.params = params
        self.layer_params: dict[str, dict[str, np.ndarray]] = {}
        for layer in _walk(self.layers):
            self.layer_params[layer.name] = {p.name: params[layer.key(p.name)] for p in layer.params}

    # -- forward / backward over a list of layers -------------------------------------------
    def forward(self, x, ctx: Context, layers=None, tape=None, input_grad=False, check=None):
        """Output of `layers` (default: all). Appends to `tape` when given.

        `check`, when a list, receives the name of every layer whose output is
        not finite (in execution order, inner layers first)."""
        for layer in (self.layers if layers is None else layers):
            if layer.op == "residual":
                sub = [] if tape is not None else None
                y = x + self.forward(x, ctx, layer.body, sub, input_grad, check)
                entry = (layer, sub)
            else:
                ctx.input_grad = input_grad
                y, cache = OPS[layer.op].forward(x, self.layer_params[layer.name], layer.attrs, ctx)
                entry = (layer, cache)
            if tape is not None:
                tape.append(entry)
            if check is not None and not np.isfinite(y).all():
                check.append(layer.name)
            x, input_grad = y, True
        return x

    def backward(self, dy, tape, grads=None, check=None):
        """Walk the tape backwards: returns (d input or None, canonical grads)."""
        grads = {} if grads is None else grads
        for layer, cache in reversed(tape):
            if layer.op == "residual":
                dbody, _ = self.backward(dy, cache, grads, check)
                dy = dy if dbody is None else dy + dbody
            else:
                dy, g = OPS[layer.op].backward(dy, cache)
                for short, v in g.items():
                    grads[layer.key(short)] = v
                if check is not None and (
                        (dy is not None and not np.isfinite(dy).all())
                        or any(not np.isfinite(v).all() for v in g.values())):
                    check.append(layer.name)
        return dy, grads

    # -- what the backend calls -------------------------------------------------------------
    def outputs(self, x, ctx: Context | None = None):
        """Model outputs in eval mode (or the mode of `ctx`)."""
        return self.forward(x, ctx or Context(False))

    def loss_and_grads(self, x, y, ctx: Context, input_grad: bool = False):
        """Training step maths: (data loss, canonical grads[, d input])."""
        tape: list = []
        out = self.forward(x, ctx, self.body, tape, input_grad)
        loss, dout = self.loss_value(out, y)
        dx, grads = self.backward(dout, tape)
        return (loss, grads, dx) if input_grad else (loss, grads)

    def rule_grads(self, x, y, ctx: Context, rule: str):
        """The classic single-layer rules as "gradients" of the one dense layer.

        perceptron: w += lr (y - y_hat) x with y_hat the model output (e.g. step);
        adaline (Widrow-Hoff): w += lr (y - z) x with z = W x + b, the linear net
        input, whatever activation follows. The error signal e replaces the
        loss gradient (step's true derivative is zero); like every loss here it
        is averaged over the batch, so batch 1 is exactly the textbook rule.
        Returns (data loss as reported, canonical grads).
        """
        tape: list = []
        out = self.forward(x, ctx, self.body, tape)
        loss, _ = self.loss_value(out, y)
        if self.fused:
            out = self.forward(out, ctx, self.layers[-1:])
        dense = [(layer, cache) for layer, cache in tape if layer.op == "dense"]
        if len(dense) != 1:
            raise ValueError(f"the {rule} rule needs exactly one dense layer")
        layer, (x_in, w, has_bias, _) = dense[0]
        z = x_in @ w.T
        if has_bias:
            z += self.layer_params[layer.name]["bias"]
        signal = out if rule == "perceptron" else z
        e = (signal - losses.dense_target(y, signal)) * (1.0 / x_in.shape[0])
        grads = {layer.key("weight"): e.T @ x_in}
        if has_bias:
            grads[layer.key("bias")] = e.sum(axis=0)
        return loss, grads

    def loss_value(self, out, y):
        """(loss, d loss / d out); `out` is the logits when the loss is fused."""
        return losses.compute(self.loss.name, self.loss.args, out, y,
                              fused=self.fused, steepness=self.steepness)

    def evaluate(self, x, y, ctx: Context | None = None):
        """(loss or None, outputs) in eval mode."""
        ctx = ctx or Context(False)
        if self.fused:
            logits = self.forward(x, ctx, self.body)
            out = self.forward(logits, ctx, self.layers[-1:])
            return (self.loss_value(logits, y)[0] if y is not None else None), out
        out = self.forward(x, ctx)
        has_loss = y is not None and self.loss is not None
        return (self.loss_value(out, y)[0] if has_loss else None), out

    def first_nonfinite(self, x, y, ctx: Context) -> str | None:
        """The first layer whose output (forward order) or gradient (backward order)
        is not finite, recomputed on one batch; None if everything is finite."""
        check: list[str] = []
        tape: list = []
        out = self.forward(x, ctx, self.body, tape, False, check)
        if check:
            return check[0]
        if self.fused and not np.isfinite(self.forward(out, ctx, self.layers[-1:])).all():
            return self.layers[-1].name
        if y is None or self.loss is None:
            return None
        with np.errstate(all="ignore"):
            _, dout = self.loss_value(out, y)
            self.backward(dout, tape, check=check)
        return check[0] if check else None


def _walk(layers):
    for layer in layers:
        yield layer
        if layer.body:
            yield from _walk(layer.body)

