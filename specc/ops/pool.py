"""Pooling over windows of an image, or over time on a sequence [T, C] (no padding, floor).

On a sequence the window and stride are one length each (`maxpool(2)`); they are
stored as pairs like the image pools' and backends read the first element.
"""
from __future__ import annotations

from .base import Arg, Example, OpDef, Pair
from .conv import time_out, window_out


class Pool(OpDef):
    args = (Arg("size", Pair(), doc="window size"), Arg("stride", Pair(), None, "default: the window size"))
    init_transparent = True
    keeps_mask = False  # over time: the output steps are windows, not the input's steps

    def __init__(self, name: str, doc: str, examples, over_time: bool = False):
        self.name, self.doc, self.examples, self.over_time = name, doc, examples, over_time
        self.shape_doc = "[C, H, W] → [C, H', W']" + ("; [T, C] → [T', C]" if over_time else "")

    def resolve(self, attrs, ctx):
        if self.over_time and len(ctx.shape) == 2:
            for arg in ("size", "stride"):
                value = attrs[arg]
                if value is not None and value[0] != value[1]:
                    ctx.fail(f"{ctx.name}: pooling over time takes one {arg} (a number), got "
                             f"[{value[0]}, {value[1]}] for a sequence {list(ctx.shape)}")
        else:
            ctx.need_image()
        if attrs["stride"] is None:
            attrs["stride"] = attrs["size"]

    def shape(self, attrs, ctx):
        if len(ctx.shape) == 2:
            return (time_out(ctx, attrs["size"][0], attrs["stride"][0], (0, 0)), ctx.shape[1])
        return (ctx.shape[0], *window_out(ctx, attrs["size"], attrs["stride"], (0, 0, 0, 0)))

    def print_args(self, attrs):
        out = [self.arg("size").type.show(attrs["size"])]
        if tuple(attrs["stride"]) != tuple(attrs["size"]):
            out.append(f"stride={self.arg('stride').type.show(attrs['stride'])}")
        return out


MAXPOOL = Pool("maxpool", "max over each receptive field",
               (Example((3, 4, 4), "maxpool(2)", distinct=True),
                Example((2, 5, 7), "maxpool([3, 2], stride=[1, 2])", distinct=True),
                Example((2, 5, 5), "maxpool(3, stride=1)", distinct=True),
                Example((6, 3), "maxpool(2)", distinct=True),
                Example((7, 2), "maxpool(3, stride=2)", distinct=True)), over_time=True)
AVGPOOL = Pool("avgpool", "mean over each receptive field",
               (Example((3, 4, 4), "avgpool(2)"), Example((2, 5, 6), "avgpool(3, stride=[2, 1])"),
                Example((6, 3), "avgpool(2)"), Example((7, 2), "avgpool(3, stride=2)")), over_time=True)
L2POOL = Pool("l2pool", "sqrt of the sum of squares over each receptive field",
              (Example((3, 4, 4), "l2pool(2)"), Example((2, 5, 5), "l2pool([2, 3], stride=[1, 2])"),
               Example((2, 4, 4), "relu; step(threshold=9.0); l2pool(2)", kinks=(0.0,))))
