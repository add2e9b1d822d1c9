"""The IR graph lowered to one torch.nn.Module whose state_dict keys are the canonical keys.

Every layer is a child module reached by its layer name, so `dense_1.weight` in
the state_dict is `dense_1.weight` in weights.npz; a block-local name such as
`res_2.main` becomes the module `main` inside a plain container `res_2`, which
gives the same dotted key. The graph itself (which values each layer takes) is
kept in a plain list and run by `_run` with a dict of values.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ... import masks
from ...ir import Program
from .losses import is_fused
from .ops import OP_TABLE, Fn


class SpecModule(nn.Module):
    """forward(*xs) -> outputs (a tensor for one output, a tuple for several);
    forward_parts(xs) -> (the values the losses read, the outputs)."""

    def __init__(self, program: Program):
        super().__init__()
        model = program.model
        self.input_names = [i.name for i in model.inputs]
        self.output_values = [o.value for o in model.outputs]
        # per layer: (name, inputs, merge?, the masks it reads: embedding names, or None when it reads none)
        sources = masks.layer_sources(model)
        self.plan = [(layer.name, tuple(layer.inputs), _is_merge(layer.op),
                      sources[layer.name] if _uses_mask(layer.op) else None)
                     for layer in model.layers]
        self.pads = masks.pad_tokens(model)
        self.output_mask_sources = masks.output_sources(model)
        self._calls = {}
        for layer in model.layers:
            module = OP_TABLE[layer.op](layer)
            _register(self, layer.name, module)
            # What _run calls per layer: the module's forward (or an activation's function)
            # directly, skipping nn.Module.__call__'s hook machinery, which no layer uses.
            self._calls[layer.name] = module.fn if isinstance(module, Fn) else module.forward
        self.input_shape = tuple(model.input_shape)
        # The losses' inputs: the logits of a fused output activation, else the output itself.
        losses = program.train.losses if program.train else ()
        consumed = {v for layer in model.layers for v in layer.inputs}
        self.loss_values, skip = [], set()
        for out, ol in zip(model.outputs, losses):
            producer = model.producer(out.value)
            if producer is not None and is_fused(ol.loss, producer):
                self.loss_values.append(producer.inputs[0])
                if out.value not in consumed:
                    skip.add(producer.name)
            else:
                self.loss_values.append(out.value)
        self.train_plan = [step for step in self.plan if step[0] not in skip]

    def forward(self, *xs):
        outs = self.outputs(xs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def outputs(self, xs) -> list:
        env = self._run(self.plan, xs)
        return [env[v] for v in self.output_values]

    def forward_parts(self, xs, last: bool = True):
        """(values the losses read, outputs or None).

        last=False skips output activations fused into their loss (the outputs are then
        None): training never computes the softmax it would throw away.
        """
        env = self._run(self.plan if last else self.train_plan, xs)
        hs = [env[v] for v in self.loss_values] if self.loss_values else [env[v] for v in self.output_values]
        return hs, ([env[v] for v in self.output_values] if last else None)

    def _run(self, plan, xs, visit=None) -> dict:
        if torch.is_tensor(xs):  # the only input, passed bare
            xs = [xs]
        env = dict(zip(self.input_names, xs))
        made: dict = {}  # padding masks by their sources, computed once per forward
        for name, inputs, merge, sources in plan:
            x = [env[v] for v in inputs] if merge else env[inputs[0]]
            if sources is None:
                y = self._calls[name](x)
            else:
                y = self._calls[name](x, mask=self._mask(sources, env, made))
            env[name] = y
            if visit is not None:
                visit(name, y)
        return env

    def _mask(self, sources, env: dict, made: dict):
        """The padding mask ([N, T] bool, True = real token) for `sources`, from the token inputs; None if unmasked."""
        if not sources:
            return None
        if sources not in made:
            mask = None
            for emb in sources:
                tokens, pad = self.pads[emb]
                m = env[tokens] != pad
                mask = m if mask is None else mask & m
            made[sources] = mask
        return made[sources]

    def output_masks(self, xs) -> list:
        """The padding mask ([N, T] bool or None) of every model output, from the token inputs."""
        env = dict(zip(self.input_names, [xs] if torch.is_tensor(xs) else xs))
        made: dict = {}
        return [self._mask(sources, env, made) for sources in self.output_mask_sources]

    def run_visiting(self, xs, visit):
        """Forward that calls visit(layer name, output) after every layer (diagnostics)."""
        env = self._run(self.plan, xs, visit)
        return [env[v] for v in self.output_values]

    def layer_names(self):
        """Layer names in execution order."""
        return [name for name, *_ in self.plan]

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


def _is_merge(op: str) -> bool:
    from ...ops import OPS

    return OPS[op].kind == "merge"


def _uses_mask(op: str) -> bool:
    from ...ops import OPS

    return OPS[op].uses_mask


def _register(root: nn.Module, dotted: str, module: nn.Module) -> None:
    """Put `module` at a dotted path, creating plain containers for the prefixes (block uses).

    Written straight into _modules so a layer may be called e.g. "train" without
    clashing with nn.Module attributes (add_module refuses that).
    """
    *prefix, last = dotted.split(".")
    parent = root
    for part in prefix:
        child = parent._modules.get(part)
        if child is None:
            child = parent._modules[part] = nn.Module()
        parent = child
    parent._modules[last] = module


def build_model(program: Program, params: dict[str, np.ndarray] | None = None) -> SpecModule:
    """The module for `program`, loaded with `params` (canonical arrays) when given."""
    model = SpecModule(program)
    if params is not None:
        model.load_canonical(params)
    return model
