"""Pooling over windows of an image (no padding, floor)."""
from __future__ import annotations

from .base import Arg, Example, OpDef, Pair
from .conv import window_out


class Pool(OpDef):
    args = (Arg("size", Pair(), doc="window size"), Arg("stride", Pair(), None, "default: the window size"))
    shape_doc = "[C, H, W] → [C, H', W']"
    init_transparent = True

    def __init__(self, name: str, doc: str, examples):
        self.name, self.doc, self.examples = name, doc, examples

    def resolve(self, attrs, ctx):
        ctx.need_image()
        if attrs["stride"] is None:
            attrs["stride"] = attrs["size"]

    def shape(self, attrs, ctx):
        return (ctx.shape[0], *window_out(ctx, attrs["size"], attrs["stride"], (0, 0, 0, 0)))

    def print_args(self, attrs):
        out = [self.arg("size").type.show(attrs["size"])]
        if tuple(attrs["stride"]) != tuple(attrs["size"]):
            out.append(f"stride={self.arg('stride').type.show(attrs['stride'])}")
        return out


MAXPOOL = Pool("maxpool", "max over each receptive field",
               (Example((3, 4, 4), "maxpool(2)", distinct=True),
                Example((2, 5, 7), "maxpool([3, 2], stride=[1, 2])", distinct=True),
                Example((2, 5, 5), "maxpool(3, stride=1)", distinct=True)))
AVGPOOL = Pool("avgpool", "mean over each receptive field",
               (Example((3, 4, 4), "avgpool(2)"), Example((2, 5, 6), "avgpool(3, stride=[2, 1])")))
L2POOL = Pool("l2pool", "sqrt of the sum of squares over each receptive field",
              (Example((3, 4, 4), "l2pool(2)"), Example((2, 5, 5), "l2pool([2, 3], stride=[1, 2])"),
               Example((2, 4, 4), "relu; step(threshold=9.0); l2pool(2)", kinks=(0.0,))))
