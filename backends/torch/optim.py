"""Optimizer specs mapped to torch.optim, and their state as flat named arrays.

The update rules are PyTorch's (the NumPy backend reimplements the same ones).
The learning rate in the spec is only the initial value: the driver sets the
rate of every step from specc.schedules.lr_at (see TorchBackend.train_step).
On CUDA the fused kernels are used where torch has them, else foreach.
"""
from __future__ import annotations

import numpy as np
import torch

from ...errors import SpecError
from ...ops import OPTIMIZERS, REQUIRED

FUSED_OK = {"sgd", "adam", "adamw", "adagrad"}


def _args(spec):
    a = {k: v for k, v in OPTIMIZERS.get(spec.name, {}).items() if v is not REQUIRED}
    a.update(spec.args)
    return a, float(a.get("lr", 0.01))


def _sgd(a, lr):
    return torch.optim.SGD, dict(lr=lr, momentum=float(a.get("momentum", 0.0)),
                                  nesterov=bool(a.get("nesterov", False)))


OPTIMIZER_TABLE = {
    "sgd": _sgd,
    # The lecture's perceptron and adaline rules are plain gradient steps.
    "perceptron": _sgd,
    "adaline": _sgd,
    "adagrad": lambda a, lr: (torch.optim.Adagrad, dict(lr=lr, eps=float(a.get("eps", 1e-10)))),
    "rmsprop": lambda a, lr: (torch.optim.RMSprop, dict(lr=lr, alpha=float(a.get("rho", 0.99)),
                                                        eps=float(a.get("eps", 1e-8)),
                                                        momentum=float(a.get("momentum", 0.0)))),
    "adadelta": lambda a, lr: (torch.optim.Adadelta, dict(lr=lr, rho=float(a.get("rho", 0.9)),
                                                          eps=float(a.get("eps", 1e-6)))),
    "adam": lambda a, lr: (torch.optim.Adam, dict(lr=lr, betas=(float(a.get("beta1", 0.9)), float(a.get("beta2", 0.999))),
                                                  eps=float(a.get("eps", 1e-8)))),
    "adamw": lambda a, lr: (torch.optim.AdamW, dict(lr=lr, betas=(float(a.get("beta1", 0.9)), float(a.get("beta2", 0.999))),
                                                    eps=float(a.get("eps", 1e-8)),
                                                    weight_decay=float(a.get("weight_decay", 0.01)))),
}


def make_optimizer(spec, params: list, device: torch.device) -> torch.optim.Optimizer:
    """torch optimizer for `spec` over `params` (trainable tensors in canonical order)."""
    a, lr = _args(spec)
    cls, kwargs = OPTIMIZER_TABLE[spec.name](a, lr)
    if device.type == "cuda" and spec.name in FUSED_OK and spec.name != "adagrad":
        kwargs["fused"] = True  # one kernel for all parameters (adagrad's fused kernel is CPU-only)
    else:
        # foreach: a few multi-tensor ops per step instead of a Python loop of small ones
        # (on CPU too, where torch's default is the loop; same update rules).
        kwargs["foreach"] = True
    return cls(params, **kwargs)


def flat_state(opt: torch.optim.Optimizer, names: list[str]) -> dict[str, np.ndarray]:
    """{"<canonical key>.<torch state name>": array, "step": int64} — the NumPy
    backend's format (backends/numpy/optim.py), so checkpoints move between backends."""
    out: dict[str, np.ndarray] = {}
    step = 0
    for idx, state in opt.state_dict()["state"].items():
        for k, v in state.items():
            if k == "step":
                step = max(step, int(float(v)))
            elif torch.is_tensor(v):
                out[f"{names[idx]}.{k}"] = v.detach().cpu().numpy().copy()
    out["step"] = np.array(step, dtype=np.int64)
    return out


def load_flat_state(opt: torch.optim.Optimizer, names: list[str], flat: dict[str, np.ndarray]) -> None:
    """Inverse of flat_state; keys naming no trainable parameter are a SpecError."""
    sd = opt.state_dict()
    index = {n: i for i, n in enumerate(names)}
    step = int(np.asarray(flat.get("step", 0)))
    state: dict[int, dict] = {}
    for key, value in flat.items():
        if key == "step":
            continue
        pname, _, sname = key.rpartition(".")
        if pname not in index:
            raise SpecError(f"the saved optimizer state {key!r} names no trainable parameter of this model",
                            hint="resume with the model and optimizer the checkpoint was trained with")
        state.setdefault(index[pname], {})[sname] = torch.from_numpy(np.array(value, dtype=np.float32))
    if step > 0:
        for i in range(len(names)):
            state.setdefault(i, {})["step"] = torch.tensor(float(step), dtype=torch.float32)
    opt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
