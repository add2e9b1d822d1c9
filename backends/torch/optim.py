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

FUSED_OK = {"sgd", "adam", "adamw", "adagrad"}


def _sgd(a):
    return torch.optim.SGD, dict(momentum=a["momentum"], nesterov=a["nesterov"])


def _plain_sgd(a):
    """The lecture's perceptron and adaline rules are plain gradient steps."""
    return torch.optim.SGD, {}


# Arguments come filled in and checked by the front end (specc/ops/catalog.py); the spec's lr is
# only the initial value (the driver sets every step's rate).
OPTIMIZER_TABLE = {
    "sgd": _sgd,
    "perceptron": _plain_sgd,
    "adaline": _plain_sgd,
    "adagrad": lambda a: (torch.optim.Adagrad, dict(eps=a["eps"])),
    "rmsprop": lambda a: (torch.optim.RMSprop, dict(alpha=a["rho"], eps=a["eps"], momentum=a["momentum"])),
    "adadelta": lambda a: (torch.optim.Adadelta, dict(rho=a["rho"], eps=a["eps"])),
    "adam": lambda a: (torch.optim.Adam, dict(betas=(a["beta1"], a["beta2"]), eps=a["eps"])),
    "adamw": lambda a: (torch.optim.AdamW, dict(betas=(a["beta1"], a["beta2"]), eps=a["eps"],
                                                weight_decay=a["weight_decay"])),
}


def make_optimizer(spec, params: list, device: torch.device) -> torch.optim.Optimizer:
    """torch optimizer for `spec` over `params` (trainable tensors in canonical order)."""
    cls, kwargs = OPTIMIZER_TABLE[spec.name](spec.args)
    kwargs["lr"] = float(spec.args["lr"])
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
    # torch reads state["step"] wherever a parameter has state, also at step 0 (adagrad's
    # sums exist from the start; a NumPy checkpoint has zero moments at step 0).
    for i in (range(len(names)) if step > 0 else list(state)):
        state.setdefault(i, {})["step"] = torch.tensor(float(step), dtype=torch.float32)
    opt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
