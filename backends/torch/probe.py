"""Per-layer activations and parameter gradients of the torch lowering (for `specc verify`).

Plain NumPy in and out, float32 on the CPU, so the numbers are comparable with the
NumPy reference and onnxruntime without any device or precision option in play.
"""
from __future__ import annotations

import numpy as np
import torch

from ...ir import Program
from .backend import TorchBackend


def _backend(program: Program, params: dict[str, np.ndarray]) -> TorchBackend:
    return TorchBackend(program, params, seed=0, device="cpu", dtype="float32")


@torch.no_grad()
def activations(program: Program, params: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """{layer name: output} in eval mode, every layer (residual bodies too), in execution order."""
    be = _backend(program, params)
    be.model.eval()
    seen: dict[str, np.ndarray] = {}
    xs = x if isinstance(x, (list, tuple)) else [x]
    be.model.run_visiting([torch.from_numpy(np.ascontiguousarray(a, np.float32)) for a in xs],
                          lambda name, v: seen.__setitem__(name, v.numpy().copy()))
    return seen


def loss_and_gradients(program: Program, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                       training: bool) -> tuple[float, dict[str, np.ndarray]]:
    """(data loss, {canonical key: gradient}) for one batch, as TorchBackend computes them."""
    be = _backend(program, params)
    be.model.train(training)
    xs = x if isinstance(x, (list, tuple)) else [x]
    ys = y if isinstance(y, (list, tuple)) else [y]
    hs, outs = be.model.forward_parts([torch.from_numpy(np.ascontiguousarray(a, np.float32)) for a in xs])
    loss = be._loss(hs, outs, [torch.from_numpy(np.asarray(t)) for t in ys])
    loss.backward()
    grads = {k: p.grad.numpy().copy() for k, p in be.model.named_parameters() if p.grad is not None}
    return float(loss.item()), grads
