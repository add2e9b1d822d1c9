"""Ops without parameters that reshape or regularize: flatten, dropout."""
from __future__ import annotations

import math

from .base import Arg, Example, Float, OpDef


class Flatten(OpDef):
    name = "flatten"
    doc = "[C, H, W] -> [C*H*W]"
    shape_doc = "[C, H, W] → [C·H·W]"
    init_transparent = True
    examples = (Example((2, 3, 2), "flatten; dense(3)"),)

    def shape(self, attrs, ctx):
        return (math.prod(ctx.shape),)


class Dropout(OpDef):
    name = "dropout"
    args = (Arg("p", Float(lo=0.0, hi=1.0, hi_open=True), doc="probability of dropping a unit"),)
    doc = "inverted dropout while training, identity at inference"
    init_transparent = True
    examples = (Example((5,), "dense(4); dropout(0.5)", training=False), Example((5,), "dense(4); dropout(0.3)"),
                Example((3, 4), "dense(2); dropout(0.3)", training=False))


FLATTEN, DROPOUT = Flatten(), Dropout()
