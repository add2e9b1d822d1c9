"""What the multi-process tests share: skip without gloo, and a free local port for the rendezvous.

They run on CPU with the gloo backend, so everything torch.distributed does is tested
without a GPU (a bug in that path must show here, not on a first GPU run).
"""
import socket

import pytest


def require_gloo():
    """Skip the calling test module when torch.distributed with gloo is missing (call at module level)."""
    torch = pytest.importorskip("torch")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)
    return torch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
