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
from .base import Arg, Bool, Example, Float, Int, OpDef, OptInt, fmt_shape


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


class PosEmbedding(OpDef):
    name = "pos_embedding"
    args = (Arg("max_len", OptInt(lo=1), None, "positions learned; default: the sequence length T"),)
    doc = "adds a learned vector per position (GPT's position embedding)"
    shape_doc = "[T, D] → [T, D]"
    params_doc = "weight [max_len, D], N(0, 0.02²); row t is added at position t"
    examples = (Example((4, 3), "pos_embedding"), Example((5,), "embedding(6, 3, pad=0); pos_embedding(max_len=7)",
                                                          tokens=6, padded=True))

    def resolve(self, attrs, ctx):
        t, _ = ctx.need_sequence()
        if attrs["max_len"] is None:
            attrs["max_len"] = t
        elif attrs["max_len"] < t:
            ctx.fail(f"{ctx.name}: max_len={attrs['max_len']} is shorter than the sequence ({t} positions)",
                     f"use max_len={t} or more, or leave it out")

    def params(self, attrs, ctx):
        d = ctx.shape[1]
        return (Param("weight", (attrs["max_len"], d), "normal", {"std": 0.02}, attrs["max_len"], d, decay=True),)


class LayerNorm(OpDef):
    name = "layernorm"
    args = (Arg("eps", Float(lo=0.0, lo_open=True), 1e-5, "added to the variance"),)
    doc = "normalize each position over its features (biased variance), then scale and shift (PyTorch LayerNorm)"
    shape_doc = "[D] or [T, D] → same shape"
    params_doc = "weight (γ) [D] (ones), bias (β) [D] (zeros)"
    init_transparent = True
    examples = (Example((3, 4), "layernorm"), Example((5,), "dense(4); layernorm(eps=1e-3)"),
                Example((4,), "embedding(5, 6, pad=0); layernorm", tokens=5, padded=True))

    def shape(self, attrs, ctx):
        return tuple(ctx.need_features())

    def params(self, attrs, ctx):
        d = (ctx.shape[-1],)
        return (Param("weight", d, "ones"), Param("bias", d, "zeros"))


class Attention(OpDef):
    name = "attention"
    args = (Arg("heads", Int(), doc="attention heads; must divide the width D"),
            Arg("causal", Bool(), False, "each position attends only to itself and earlier positions"),
            Arg("dropout", Float(lo=0.0, hi=1.0, hi_open=True), 0.0, "dropout on the attention weights (training)"))
    doc = ("multi-head self-attention: softmax(Q Kᵀ / √(D/heads)) V per head, then the output projection; "
           "padding keys are never attended, a query with no key to attend outputs zeros")
    shape_doc = "[T, D] → [T, D]"
    params_doc = ("q, k, v, o projections: `q.weight` [D, D] (x·Wᵀ + b), `q.bias` [D], ...; "
                  "nn.MultiheadAttention's in_proj_weight is q, k, v stacked")
    uses_mask = True
    examples = (Example((4, 6), "attention(2)"), Example((5, 4), "attention(1, causal=true)"),
                Example((5,), "embedding(7, 4, pad=0); attention(2)", tokens=7, padded=True),
                Example((6,), "embedding(7, 6, pad=0); attention(3, causal=true); dense(2)", tokens=7, padded=True),
                Example((3, 4), "attention(2, dropout=0.5)", training=False),
                Example((3, 4), "attention(2, dropout=0.5)"))

    def shape(self, attrs, ctx):
        _, d = ctx.need_sequence()
        if d % attrs["heads"]:
            ctx.fail(f"{ctx.name}: {attrs['heads']} heads do not divide the width {d}",
                     f"use a divisor of {d} for `heads`")
        return tuple(ctx.shape)

    def params(self, attrs, ctx):
        d = ctx.shape[1]
        out = []
        for proj in ("q", "k", "v", "o"):
            out.append(Param(f"{proj}.weight", (d, d), "glorot_uniform", {}, d, d, decay=True))
            out.append(Param(f"{proj}.bias", (d,), "zeros", {}, d, d))
        return tuple(out)


class Last(OpDef):
    name = "last"
    doc = "the vector at the last non-padding position of each sequence"
    shape_doc = "[T, D] → [D]"
    uses_mask = True
    keeps_mask = False
    init_transparent = True
    examples = (Example((4, 3), "last"), Example((5,), "embedding(6, 3, pad=0); last; dense(2)", tokens=6,
                                                 padded=True))

    def shape(self, attrs, ctx):
        return (ctx.need_sequence()[1],)


class GlobalPool(OpDef):
    shape_doc = "[T, D] → [D] (padding left out); [C, H, W] → [C]"
    uses_mask = True
    keeps_mask = False
    init_transparent = True

    def __init__(self, name: str, doc: str, examples):
        self.name, self.doc, self.examples = name, doc, examples

    def shape(self, attrs, ctx):
        if len(ctx.shape) == 3:
            return (ctx.shape[0],)
        if len(ctx.shape) == 2:
            return (ctx.shape[1],)
        ctx.fail(f"{ctx.name} expects a sequence [T, D] or an image [C, H, W] but gets {fmt_shape(ctx.shape)}")


GLOBAL_MAXPOOL = GlobalPool("global_maxpool", "maximum over time (or over an image's positions) per feature",
                            (Example((4, 3), "global_maxpool", distinct=True),
                             Example((2, 3, 3), "global_maxpool", distinct=True),
                             Example((5,), "embedding(6, 3, pad=0); dense(3); global_maxpool", tokens=6,
                                     padded=True)))
GLOBAL_AVGPOOL = GlobalPool("global_avgpool", "mean over time (or over an image's positions) per feature",
                            (Example((4, 3), "global_avgpool"), Example((2, 3, 3), "global_avgpool"),
                             Example((5,), "embedding(6, 3, pad=0); global_avgpool", tokens=6, padded=True)))
POS_EMBEDDING, LAYERNORM, ATTENTION, LAST = PosEmbedding(), LayerNorm(), Attention(), Last()
