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
    be.model.run_visiting(torch.from_numpy(np.ascontiguousarray(x, np.float32)),
                          lambda name, v: seen.__setitem__(name, v.numpy().copy()))
    return seen


def loss_and_gradients(program: Program, params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                       training: bool) -> tuple[float, dict[str, np.ndarray]]:
    """(data loss, {canonical key: gradient}) for one batch, as TorchBackend computes them."""
    be = _backend(program, params)
    be.model.train(training)
    h, out = be.model.forward_parts(torch.from_numpy(np.ascontiguousarray(x, np.float32)))
    loss = be._loss(h, out, torch.from_numpy(np.asarray(y)))
    loss.backward()
    grads = {k: p.grad.numpy().copy() for k, p in be.model.named_parameters() if p.grad is not None}
    return float(loss.item()), grads
