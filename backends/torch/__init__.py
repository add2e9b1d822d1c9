"""The PyTorch backend: the IR lowered to a torch.nn.Module, trained by the shared driver.

`TorchBackend` (backends/torch/backend.py) implements the Backend interface of
docs/ARCHITECTURE.md. Importing this package does not import torch; the
attribute access `specc.backends.torch.TorchBackend` does. `build_model` (the
spec as an nn.Module, for `Model.to_torch()`) is the other public name.
"""


def __getattr__(name):
    if name == "TorchBackend":
        from .backend import TorchBackend

        return TorchBackend
    if name in ("build_model", "SpecModule"):
        from . import model

        return getattr(model, name)
    raise AttributeError(name)
