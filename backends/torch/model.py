"""The IR lowered to one torch.nn.Module whose state_dict keys are the canonical keys.

Every layer (residual bodies included) is a direct child named by its layer
name, so `dense_1.weight` in the state_dict is `dense_1.weight` in weights.npz.
The tree structure (which layers sit inside which residual) is kept in a plain
list of layer names and walked by `_run`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...ir import Program
from .ops import OP_TABLE, Fn


class SpecModule(nn.Module):
    """forward(x) -> model output; forward_parts(x) -> (input of the last layer, output)."""

    def __init__(self, program: Program):
        super().__init__()
        self.plan = _plan(program.model.layers)
        for layer in program.all_layers():
            if "." in layer.name:
                raise ValueError(f"layer name {layer.name!r} must not contain '.'")
            # Written straight into _modules so a layer may be called e.g. "train"
            # without clashing with nn.Module attributes (add_module refuses that).
            self._modules[layer.name] = OP_TABLE[layer.op](layer)
        self.input_shape = tuple(program.model.input_shape)
        # What _run calls per layer: the module's forward (or an activation's function)
        # directly, skipping nn.Module.__call__'s hook machinery, which no layer uses.
        self._calls = {name: (m.fn if isinstance(m, Fn) else m.forward) for name, m in self._modules.items()}

    def forward(self, x):
        return self._run(self.plan, x)

    def forward_parts(self, x, last: bool = True):
        """(h, y): h is the input of the last top-level layer (the logits of a fused loss).

        last=False skips the last layer (y is None): a fused loss needs only the logits,
        so training never computes the softmax it would throw away.
        """
        if not self.plan:
            return x, x
        h = self._run(self.plan[:-1], x)
        return h, (self._run(self.plan[-1:], h) if last else None)

    def _run(self, plan, x, visit=None):
        for name, body in plan:
            if body is None:
                x = self._calls[name](x)
            else:  # residual: y = x + f(x)
                x = x + self._run(body, x, visit)
            if visit is not None:
                visit(name, x)
        return x

    def run_visiting(self, x, visit):
        """Forward that calls visit(layer name, output) after every layer (diagnostics, verify)."""
        return self._run(self.plan, x, visit)

    def layer_names(self):
        """Layer names in execution order (bodies before their residual's sum)."""
        return list(self._modules)

    def load_canonical(self, params: dict[str, np.ndarray]) -> None:
        """Copy canonical arrays in (cast to the module's dtype); every key must match exactly (shape-checked)."""
        own = self.state_dict()
        missing = sorted(set(own) - set(params))
        extra = sorted(set(params) - set(own))
        if missing or extra:
            raise KeyError(f"parameter keys differ: missing {missing}, unexpected {extra}")
        with torch.no_grad():
            for key, t in own.items():
                value = np.asarray(params[key])
                if tuple(value.shape) != tuple(t.shape):
                    raise ValueError(f"{key}: expected shape {list(t.shape)}, got {list(value.shape)}")
                t.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(t.dtype))

    def canonical(self) -> dict[str, np.ndarray]:
        return {k: v.detach().to("cpu", torch.float32).numpy().copy() for k, v in self.state_dict().items()}


def _plan(layers):
    """[(name, body plan or None)] mirroring the IR tree."""
    return [(L.name, _plan(L.body) if L.op == "residual" else None) for L in layers]


def build_model(program: Program, params: dict[str, np.ndarray] | None = None) -> SpecModule:
    """The module for `program`, loaded with `params` (canonical arrays) when given."""
    model = SpecModule(program)
    if params is not None:
        model.load_canonical(params)
    return model
