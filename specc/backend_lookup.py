"""Backends by name, imported only when asked for (`specc check` never imports torch)."""
from __future__ import annotations

import importlib

from .errors import SpecError, did_you_mean

BACKENDS = {
    "numpy": "specc.backends.numpy.backend:NumpyBackend",
    "torch": "specc.backends.torch.backend:TorchBackend",
}


def backend_class(name):
    """The Backend class for a name in BACKENDS, or a class passed through (tests' fake backends)."""
    if not isinstance(name, str):
        return name
    if name not in BACKENDS:
        raise SpecError(f"unknown backend {name!r} (known: {', '.join(BACKENDS)})",
                        hint=did_you_mean(name, BACKENDS))
    module_name, cls_name = BACKENDS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        hint = "install PyTorch (pip install 'specc[torch]')" if e.name == "torch" else None
        raise SpecError(f"backend {name!r} is not available: {e}", hint=hint) from None
    return getattr(module, cls_name)
