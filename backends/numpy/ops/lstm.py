"""lstm: PyTorch nn.LSTM (gates i, f, g, o); the cell and BPTT are in _recurrent."""
from __future__ import annotations

from ._base import Op
from ._recurrent import LSTMCell, layer_backward, layer_forward


class LSTM(Op):
    name = "lstm"

    def forward(self, x, params, attrs, ctx):
        return layer_forward(LSTMCell(), x, params, attrs, ctx)

    def backward(self, dy, cache):
        return layer_backward(dy, cache)
