"""Runs a model graph forward and backward with the NumPy ops.

The IR lists layers in execution order, each naming the values it takes, so the
forward pass is one loop filling a dict of values, and records a tape of
(layer, cache). The backward pass walks the tape in reverse with a dict of
value gradients: where a value feeds several layers (fan-out, a residual's
shortcut) their gradients are summed. Gradients come back keyed canonically
("dense_1.weight"). The dtype follows the parameters: float32 normally, float64
for gradient checks.

Losses fused with the model's last activation (cross_entropy after softmax, ...)
are computed from that activation's input (the logits), so training skips an
output activation nothing else consumes.
"""
from __future__ import annotations

import numpy as np

from specc import masks
from specc.ir import Model

from . import losses
from .ops import OPS, Context


def as_list(x) -> list:
    """One array per model input/output: a bare array stands for a list of one."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


class Network:
    """A Model bound to a dict of parameter arrays (shared, updated in place by the optimizer).

    `losses` are the train block's OutputLoss entries (or None): they decide
    which output activations are fused into their loss.
    """

    def __init__(self, model: Model, params: dict[str, np.ndarray], output_losses=None):
        self.model = model
        self.layers = tuple(model.layers)
        self.output_losses = tuple(output_losses or ())
        consumed = {v for layer in self.layers for v in layer.inputs}
        # per output: (value the loss reads, fused?, steepness of a fused sigmoid)
        self.loss_inputs = []
        skip = set()
        for out, ol in zip(model.outputs, self.output_losses):
            producer = model.producer(out.value)
            fused = bool(producer is not None and losses.fused_with(ol.loss.name, producer.op))
            if fused:
                self.loss_inputs.append((producer.inputs[0], True, float(producer.attrs.get("steepness", 1.0))))
                if out.value not in consumed and sum(o.value == out.value for o in model.outputs) == 1:
                    skip.add(producer.name)
            else:
                self.loss_inputs.append((out.value, False, 1.0))
        self.train_layers = tuple(layer for layer in self.layers if layer.name not in skip)
        self.model_inputs = {i.name for i in model.inputs}
        self.mask_sources = masks.layer_sources(model)
        self.output_mask_sources = masks.output_sources(model)
        self.bind(params)

    def bind(self, params: dict[str, np.ndarray]) -> None:
        """Point every layer at its parameter arrays (by short name)."""
        self.params = params
        self.layer_params = {layer.name: {p.name: params[layer.key(p.name)] for p in layer.params}
                             for layer in self.layers}

    # -- forward / backward ---------------------------------------------------------------------
    def forward(self, xs, ctx: Context, layers=None, tape=None, input_grad=False, check=None) -> dict:
        """All values computed by `layers` (default: all) from the inputs `xs`; appends to `tape`.

        input_grad=False: nobody needs gradients w.r.t. the model inputs, so layers that read only
        model inputs skip that product. `check`, when a list, receives the name of every layer whose
        output is not finite (in execution order).
        """
        env = dict(zip((i.name for i in self.model.inputs), as_list(xs)))
        made: dict = {}  # padding masks by their sources, computed once per forward
        for layer in (self.layers if layers is None else layers):
            op = OPS[layer.op]
            ctx.input_grad = input_grad or any(v not in self.model_inputs for v in layer.inputs)
            ctx.mask = self._mask(self.mask_sources[layer.name], env, made)
            args = [env[v] for v in layer.inputs]
            y, cache = op.forward(args if op.merge else args[0], self.layer_params[layer.name], layer.attrs, ctx)
            env[layer.name] = y
            if tape is not None:
                tape.append((layer, cache))
            if check is not None and not np.isfinite(y).all():
                check.append(layer.name)
        return env

    def _mask(self, sources, env: dict, made: dict):
        """The padding mask of a layer's input ([N, T] bool) from the model inputs in env, or None."""
        if sources and sources not in made:
            made[sources] = masks.numpy_mask(self.model, env, sources)
        return made.get(sources) if sources else None

    def backward(self, dvalues: dict, tape, check=None):
        """Walk the tape backwards from value gradients: returns (value gradients, canonical grads)."""
        grads = {}
        for layer, cache in reversed(tape):
            dy = dvalues.pop(layer.name, None)
            if dy is None:  # the layer's output does not reach the loss
                continue
            op = OPS[layer.op]
            dx, g = op.backward(dy, cache)
            for short, v in g.items():
                grads[layer.key(short)] = v
            for value, d in zip(layer.inputs, dx if op.merge else [dx]):
                if d is not None:
                    dvalues[value] = dvalues[value] + d if value in dvalues else d
            if check is not None and (any(d is not None and not np.isfinite(d).all()
                                          for d in (dx if op.merge else [dx]))
                                      or any(not np.isfinite(v).all() for v in g.values())):
                check.append(layer.name)
        return dvalues, grads

    # -- what the backend calls -------------------------------------------------------------------
    def outputs(self, xs, ctx: Context | None = None):
        """Model outputs in eval mode (or the mode of `ctx`): one array per output (a bare array for one)."""
        env = self.forward(xs, ctx or Context(False))
        outs = [env[o.value] for o in self.model.outputs]
        return outs[0] if len(outs) == 1 else outs

    def loss_and_grads(self, xs, ys, ctx: Context, input_grad: bool = False):
        """Training step maths: (data loss, canonical grads[, d inputs list])."""
        tape: list = []
        env = self.forward(xs, ctx, self.train_layers, tape, input_grad)
        loss, dvalues = self.loss_value(env, ys)
        dvalues, grads = self.backward(dvalues, tape)
        if input_grad:
            dxs = [dvalues.get(i.name) for i in self.model.inputs]
            return loss, grads, (dxs if len(dxs) > 1 else dxs[0])
        return loss, grads

    def output_masks(self, env: dict) -> list:
        """The padding mask ([N, T] bool or None) of every model output, from the inputs in env."""
        made: dict = {}
        return [self._mask(sources, env, made) for sources in self.output_mask_sources]

    def loss_value(self, env: dict, ys):
        """(weighted total loss, {value: d loss / d value}); fused losses read the logits, and
        per-position losses leave out the positions the output's padding mask marks."""
        total, dvalues = 0.0, {}
        for (value, fused, steep), ol, y, mask in zip(self.loss_inputs, self.output_losses, as_list(ys),
                                                      self.output_masks(env)):
            loss, d = losses.compute(ol.loss.name, ol.loss.args, env[value], y, fused=fused, steepness=steep,
                                     mask=mask)
            if ol.weight != 1.0:
                loss, d = loss * ol.weight, d * ol.weight
            total += loss
            dvalues[value] = dvalues[value] + d if value in dvalues else d
        return total, dvalues

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
        env = self.forward(x, ctx, self.layers, tape)
        loss, _ = self.loss_value(env, y)
        out = env[self.model.outputs[0].value]
        dense = [(layer, cache) for layer, cache in tape if layer.op == "dense"]
        if len(dense) != 1:
            raise ValueError(f"the {rule} rule needs exactly one dense layer")
        layer, (x_in, w, has_bias, _) = dense[0]
        z = env[layer.name]
        signal = out if rule == "perceptron" else z
        e = (signal - losses.dense_target(as_list(y)[0], signal)) * (1.0 / x_in.shape[0])
        grads = {layer.key("weight"): e.T @ x_in}
        if has_bias:
            grads[layer.key("bias")] = e.sum(axis=0)
        return loss, grads

    def evaluate(self, xs, ys, ctx: Context | None = None):
        """(loss or None, outputs list) in eval mode."""
        env = self.forward(xs, ctx or Context(False))
        outs = [env[o.value] for o in self.model.outputs]
        has_loss = ys is not None and self.output_losses
        return (self.loss_value(env, ys)[0] if has_loss else None), outs

    def first_nonfinite(self, xs, ys, ctx: Context) -> str | None:
        """The first layer whose output (forward order) or gradient (backward order)
        is not finite, recomputed on one batch; None if everything is finite."""
        check: list[str] = []
        tape: list = []
        env = self.forward(xs, ctx, self.layers, tape, False, check)
        if check:
            return check[0]
        if ys is None or not self.output_losses:
            return None
        with np.errstate(all="ignore"):
            _, dvalues = self.loss_value(env, ys)
            self.backward(dvalues, [t for t in tape if t[0] in self.train_layers], check=check)
        return check[0] if check else None
