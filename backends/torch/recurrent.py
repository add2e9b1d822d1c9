"""rnn / lstm / gru lowered onto torch's own nn.RNN / nn.LSTM / nn.GRU (cuDNN on GPU).

Each module *is* the torch module (a subclass), so its state_dict keys are PyTorch's
(`weight_ih_l0`, ..., `_reverse`), which are the canonical keys behind the layer name.
With a padding mask the batch goes through pack_padded_sequence (lengths = mask.sum(1),
enforce_sorted=False): the forward direction stops at the last real step, the reverse
one starts there, outputs at padding steps are 0. torch refuses a length of 0, so an
all-padding sequence runs as length 1 and its outputs are zeroed afterwards (the NumPy
backend gives zeros for it directly).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class _Recurrent:
    """forward(x [N, T, D], mask) -> [N, T, dirs*units] (sequences) or [N, dirs*units] (last state)."""

    sequences = False

    def forward(self, x, mask=None):
        n, t = x.shape[:2]
        empty = None
        if mask is not None:
            lengths = mask.sum(1)
            empty = lengths == 0
            packed = pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
            out, h_n = super().forward(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
        else:
            out, h_n = super().forward(x)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        y = out if self.sequences else h_n.transpose(0, 1).reshape(n, -1)  # [dirs, N, H] -> [N, dirs*H]
        if empty is not None and bool(empty.any()):
            y = y.masked_fill(empty.reshape(-1, *[1] * (y.dim() - 1)), 0.0)
        return y


class RNN(_Recurrent, nn.RNN):
    pass


class LSTM(_Recurrent, nn.LSTM):
    pass


class GRU(_Recurrent, nn.GRU):
    pass


MODULES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def build(layer) -> nn.Module:
    """The torch module for a resolved rnn / lstm / gru layer."""
    a = layer.attrs
    extra = {"nonlinearity": a["act"]} if layer.op == "rnn" else {}
    module = MODULES[layer.op](layer.in_shape[1], a["units"], batch_first=True,
                               bidirectional=a["bidirectional"], **extra)
    module.sequences = a["sequences"]
    return module
