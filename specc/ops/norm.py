"""Normalization layers."""
from __future__ import annotations

from ..ir import Param
from .base import Arg, Example, Float, Int, OpDef


class BatchNorm(OpDef):
    name = "batchnorm"
    args = (Arg("momentum", Float(lo=0.0, hi=1.0), 0.1, "running = (1 - momentum) running + momentum batch"),
            Arg("eps", Float(lo=0.0, lo_open=True), 1e-5))
    doc = "normalize per feature/channel; running statistics at inference"
    params_doc = "weight (γ) [C], bias (β) [C]; buffers running_mean [C], running_var [C]"
    init_transparent = True
    examples = (Example((5,), "dense(4); batchnorm(momentum=0.2, eps=1e-3)", batches=(3, 6)),
                Example((2, 5, 5), "conv2d(3, 3); batchnorm", batches=(2, 3)),
                Example((5,), "dense(3); batchnorm", training=False))

    def params(self, attrs, ctx):
        c = (ctx.shape[0],)
        return (Param("weight", c, "ones"), Param("bias", c, "zeros"),
                Param("running_mean", c, "zeros", trainable=False),
                Param("running_var", c, "ones", trainable=False))


class GroupNorm(OpDef):
    name = "groupnorm"
    args = (Arg("groups", Int(), doc="number of channel groups; must divide the channels"),
            Arg("eps", Float(lo=0.0, lo_open=True), 1e-5))
    doc = "normalize each sample over groups of channels (PyTorch GroupNorm), then scale and shift per channel"
    params_doc = "weight (γ) [C], bias (β) [C]"
    init_transparent = True
    examples = (Example((4, 3, 3), "conv2d(4, 1); groupnorm(2)", batches=(1, 3)),
                Example((6,), "dense(6); groupnorm(3, eps=1e-3)"))

    def shape(self, attrs, ctx):
        c = ctx.shape[0]
        if c % attrs["groups"]:
            ctx.fail(f"{ctx.name}: {attrs['groups']} groups do not divide {c} channels",
                     f"use a divisor of {c} for `groups`")
        return tuple(ctx.shape)

    def params(self, attrs, ctx):
        c = (ctx.shape[0],)
        return (Param("weight", c, "ones"), Param("bias", c, "zeros"))


BATCHNORM, GROUPNORM = BatchNorm(), GroupNorm()
