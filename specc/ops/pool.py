"""Pooling over windows of an image (floor; optional padding) or over time on a sequence [T, C]
(no padding, floor), and upsampling.

On a sequence the window and stride are one length each (`maxpool(2)`); they are
stored as pairs like the image pools' and backends read the first element.
"""
from __future__ import annotations

from .base import Arg, Choice, Example, OpDef, Pad, Pair
from .conv import resolve_pad, time_out, window_out


class Pool(OpDef):
    args = (Arg("size", Pair(), doc="window size"), Arg("stride", Pair(), None, "default: the window size"),
            Arg("pad", Pad(), 0, "images: an int, [h, w], [top, bottom, left, right], same or valid; padding "
                                 "never wins a max and is left out of an average"))
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
        if len(ctx.shape) == 2:  # over time: no padding
            if attrs["pad"] not in ("valid", (0, 0), (0, 0, 0, 0)):
                ctx.fail(f"{ctx.name}: pooling over time takes no padding (pad is for images)")
            attrs["pad"] = (0, 0, 0, 0)
            return
        attrs["pad"] = pad = resolve_pad(attrs["pad"], attrs["size"], attrs["stride"], ctx.shape[1:])
        (kh, kw), (top, left, bottom, right) = attrs["size"], pad
        if max(top, bottom) >= kh or max(left, right) >= kw:  # a window of padding alone has no value
            ctx.fail(f"{ctx.name}: padding {self.arg('pad').type.show(pad)} must be smaller than the window "
                     f"{kh}x{kw} on every side")

    def shape(self, attrs, ctx):
        if len(ctx.shape) == 2:
            return (time_out(ctx, attrs["size"][0], attrs["stride"][0], (0, 0)), ctx.shape[1])
        return (ctx.shape[0], *window_out(ctx, attrs["size"], attrs["stride"], attrs["pad"]))

    def print_args(self, attrs):
        out = [self.arg("size").type.show(attrs["size"])]
        if tuple(attrs["stride"]) != tuple(attrs["size"]):
            out.append(f"stride={self.arg('stride').type.show(attrs['stride'])}")
        if any(attrs["pad"]):
            out.append(f"pad={self.arg('pad').type.show(attrs['pad'])}")
        return out


MAXPOOL = Pool("maxpool", "max over each receptive field",
               (Example((3, 4, 4), "maxpool(2)", distinct=True),
                Example((2, 5, 7), "maxpool([3, 2], stride=[1, 2])", distinct=True),
                Example((2, 5, 5), "maxpool(3, stride=1)", distinct=True),
                Example((6, 3), "maxpool(2)", distinct=True),
                Example((7, 2), "maxpool(3, stride=2)", distinct=True),
                Example((2, 5, 7), "maxpool(2, pad=same)", distinct=True),
                Example((2, 5, 6), "maxpool(3, stride=2, pad=[1, 2, 0, 1])", distinct=True)), over_time=True)
AVGPOOL = Pool("avgpool", "mean over each receptive field (padding not counted)",
               (Example((3, 4, 4), "avgpool(2)"), Example((2, 5, 6), "avgpool(3, stride=[2, 1])"),
                Example((6, 3), "avgpool(2)"), Example((7, 2), "avgpool(3, stride=2)"),
                Example((2, 5, 7), "avgpool(3, stride=2, pad=same)"),
                Example((2, 4, 5), "avgpool([2, 3], stride=1, pad=[1, 0, 2, 1])")), over_time=True)
L2POOL = Pool("l2pool", "sqrt of the sum of squares over each receptive field",
              (Example((3, 4, 4), "l2pool(2)"), Example((2, 5, 5), "l2pool([2, 3], stride=[1, 2])"),
               Example((2, 4, 4), "relu; step(threshold=9.0); l2pool(2)", kinks=(0.0,)),
               Example((2, 5, 5), "l2pool(2, pad=same)")))


class Upsample(OpDef):
    """Nearest or bilinear upsampling by an integer factor (PyTorch's F.interpolate, align_corners=false)."""

    name = "upsample"
    args = (Arg("scale", Pair(), doc="an int or [sh, sw]"),
            Arg("mode", Choice(("nearest", "bilinear")), "nearest", "nearest or bilinear (align_corners=false)"))
    doc = "repeat each pixel (nearest) or interpolate linearly (bilinear, half-pixel centres)"
    shape_doc = "[C, H, W] → [C, H·sh, W·sw]"
    init_transparent = True
    examples = (Example((2, 3, 4), "upsample(2)"),
                Example((2, 3, 2), "upsample([2, 3], mode=bilinear)"),
                Example((1, 4, 3), "upsample([3, 1], mode=bilinear)"),
                Example((3, 2, 2), "conv2d(2, 1); upsample(2, mode=bilinear)"))

    def resolve(self, attrs, ctx):
        ctx.need_image()

    def shape(self, attrs, ctx):
        c, h, w = ctx.shape
        return (c, h * attrs["scale"][0], w * attrs["scale"][1])


UPSAMPLE = Upsample()
