"""Recurrent layers over a sequence [T, D]: rnn, lstm, gru (PyTorch's modules, batch_first).

Parameters are exactly the keys of PyTorch's `nn.RNN/LSTM/GRU(batch_first=True).state_dict()`
(one layer: `weight_ih_l0` [G·units, D], `weight_hh_l0` [G·units, units], `bias_ih_l0`,
`bias_hh_l0`, and the same with `_reverse` when bidirectional), gates stacked in PyTorch's
order, and PyTorch's default init U(±1/sqrt(units)) for all of them, so the weights load
into the torch module with `load_state_dict` and back.
"""
from __future__ import annotations

from ..ir import Param
from .base import Arg, Bool, Choice, Example, Int, OpDef

# Conformance cases: a short sequence, one and two directions, the sequence and the last state.
_T, _D = 4, 3


class Recurrent(OpDef):
    gates = 1           # weight blocks stacked in weight_ih / weight_hh (PyTorch's order)
    gate_doc = ""
    shape_doc = "[T, D] → [units] (last state) or [T, units] (sequences=true); ×2 units when bidirectional"
    uses_mask = True  # padding steps are skipped; with sequences=true the mask carries on (same T)

    def __init__(self, name: str, doc: str, gates: int, gate_doc: str, extra_args=(), extra_examples=()):
        self.name, self.doc, self.gates, self.gate_doc = name, doc, gates, gate_doc
        self.args = (Arg("units", Int(), doc="hidden state size"), *extra_args,
                     Arg("sequences", Bool(), False, "output every step [T, units] instead of the last state"),
                     Arg("bidirectional", Bool(), False, "also run backwards; outputs concatenated, forward first"))
        self.params_doc = (f"PyTorch's `nn.{name.upper()}` keys: weight_ih_l0 [{gates}·units, D], weight_hh_l0 "
                           f"[{gates}·units, units], bias_ih_l0, bias_hh_l0 [{gates}·units] ({gate_doc}), "
                           "`…_reverse` when bidirectional")
        self.examples = tuple(Example((_T, _D), f"{name}({units}{opts})") for units, opts in (
            (3, ""), (2, ", sequences=true"), (2, ", bidirectional=true"),
            (2, ", sequences=true, bidirectional=true"), *extra_examples)) + tuple(
            # padded token sequences: the mask from embedding(pad=0) (lengths 6, 4, 2 in a batch of 3)
            Example((6,), f"embedding(9, 3, pad=0); {name}(2{opts})", tokens=9, padded=True)
            for opts in (", bidirectional=true", ", sequences=true, bidirectional=true"))

    def shape(self, attrs, ctx):
        t, _ = ctx.need_sequence()
        units = attrs["units"] * (2 if attrs["bidirectional"] else 1)
        return (t, units) if attrs["sequences"] else (units,)

    def params(self, attrs, ctx):
        d, units = ctx.shape[1], attrs["units"]
        rows, limit = self.gates * units, {"limit": units ** -0.5}
        out = []
        for suffix in ("", "_reverse") if attrs["bidirectional"] else ("",):
            out += [Param(f"weight_ih_l0{suffix}", (rows, d), "uniform", dict(limit), d, units, decay=True),
                    Param(f"weight_hh_l0{suffix}", (rows, units), "uniform", dict(limit), units, units, decay=True),
                    Param(f"bias_ih_l0{suffix}", (rows,), "uniform", dict(limit), d, units),
                    Param(f"bias_hh_l0{suffix}", (rows,), "uniform", dict(limit), units, units)]
        return tuple(out)


RNN = Recurrent("rnn", "Elman recurrent layer h' = act(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (PyTorch nn.RNN)", 1,
                "one block", (Arg("act", Choice(("tanh", "relu")), "tanh", "tanh or relu"),),
                ((2, ", act=relu, sequences=true"),))
LSTM = Recurrent("lstm", "long short-term memory (PyTorch nn.LSTM)", 4, "gates i, f, g, o")
GRU = Recurrent("gru", "gated recurrent unit, reset after the hidden matmul (PyTorch nn.GRU)", 3, "gates r, z, n")
