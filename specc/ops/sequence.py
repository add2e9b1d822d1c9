"""Sequence layers: tokens to vectors, and layers over [T, D] sequences.

Shapes of one example: tokens are `[T]` integers, a sequence is `[T, D]`
(time first, features last: Keras' layout, PyTorch's batch_first=True).
`embedding(pad=p)` makes the padding mask (tokens != p, padding at the end of
a sequence); every op whose output keeps the time axis carries it on
(`OpDef.keeps_mask`), and mask-aware ops read it (`OpDef.uses_mask`):
specc/masks.py says which mask reaches which layer.
"""
from __future__ import annotations

from ..ir import Param
from .base import Arg, Example, Int, OpDef, OptInt, fmt_shape


class Embedding(OpDef):
    name = "embedding"
    args = (Arg("vocab", Int(), doc="number of token ids (ids run from 0 to vocab - 1)"),
            Arg("dim", Int(), doc="width of each token's vector"),
            Arg("pad", OptInt(), None, "the padding token id: masked in every later mask-aware layer"))
    doc = "a learned vector per token id (PyTorch nn.Embedding); `pad` marks padding"
    shape_doc = "[T] int → [T, dim]"
    params_doc = "weight [vocab, dim], N(0, 1) as PyTorch's nn.Embedding"
    takes_tokens = True
    examples = (Example((5,), "embedding(7, 4)", tokens=7),
                Example((6,), "embedding(9, 3, pad=0); dense(2)", tokens=9, padded=True))

    def shape(self, attrs, ctx):
        if ctx.dtype != "int" or len(ctx.shape) != 1:
            what = "token ids" if ctx.dtype == "int" else "float values"
            ctx.fail(f"{ctx.name} expects token ids [T] (an `int` input) but gets {what} {fmt_shape(ctx.shape)}",
                     "declare the input as tokens, e.g. `input text [128] int`")
        if attrs["pad"] is not None and attrs["pad"] >= attrs["vocab"]:
            ctx.fail(f"{ctx.name}: pad token {attrs['pad']} is not below the vocabulary size {attrs['vocab']}",
                     "token ids run from 0 to vocab - 1")
        return (ctx.shape[0], attrs["dim"])

    def params(self, attrs, ctx):
        return (Param("weight", (attrs["vocab"], attrs["dim"]), "normal", {"std": 1.0}, attrs["vocab"], attrs["dim"],
                      decay=True),)

    def makes_mask(self, attrs) -> bool:
        return attrs["pad"] is not None


EMBEDDING = Embedding()

