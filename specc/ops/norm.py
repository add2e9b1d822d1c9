"""Normalization layers."""
from __future__ import annotations

from ..ir import Param
from .base import Arg, Example, Float, OpDef


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


BATCHNORM = BatchNorm()
