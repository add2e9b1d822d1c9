"""rnn: Elman recurrence h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh) (PyTorch nn.RNN); BPTT in _recurrent."""
from __future__ import annotations

from ._base import Op
from ._recurrent import RNNCell, layer_backward, layer_forward


class RNN(Op):
    name = "rnn"

    def forward(self, x, params, attrs, ctx):
        return layer_forward(RNNCell(attrs["act"]), x, params, attrs, ctx)

    def backward(self, dy, cache):
        return layer_backward(dy, cache)
