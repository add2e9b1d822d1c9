"""gru: PyTorch nn.GRU (gates r, z, n, reset after the hidden matmul); the cell and BPTT are in _recurrent."""
from __future__ import annotations

from ._base import Op
from ._recurrent import GRUCell, layer_backward, layer_forward


class GRU(Op):
    name = "gru"

    def forward(self, x, params, attrs, ctx):
        return layer_forward(GRUCell(), x, params, attrs, ctx)

    def backward(self, dy, cache):
        return layer_backward(dy, cache)
