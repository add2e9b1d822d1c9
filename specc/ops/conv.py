"""Convolutions (cross-correlation, channels-first)."""
from __future__ import annotations

from ..ir import Param
from .base import Arg, Bool, Example, Init, Int, OpDef, Pad, Pair


def same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow's `same`: out = ceil(size / s), the extra pixel on the bottom/right."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def resolve_pad(pad, kernel, stride, hw) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) from `same`, `valid` or a symmetric (ph, pw)."""
    if pad == "valid":
        return (0, 0, 0, 0)
    if pad == "same":
        top, bottom = same_pad(hw[0], kernel[0], stride[0])
        left, right = same_pad(hw[1], kernel[1], stride[1])
        return (top, left, bottom, right)
    if len(pad) == 4:
        return tuple(pad)
    return (pad[0], pad[1], pad[0], pad[1])


def window_out(ctx, kernel, stride, pad) -> tuple[int, int]:
    """Output height and width of a sliding window (floor), or an error when it does not fit."""
    _, h, w = ctx.shape
    ph, pw = pad[0] + pad[2], pad[1] + pad[3]
    if kernel[0] > h + ph or kernel[1] > w + pw:
        c = ctx.shape[0]
        hint = (f"specc images are channels-first [channels, height, width]: write "
                f"[{w}, {c}, {h}]" if w in (1, 3, 4) and c > 4 else None)  # [28, 28, 1] is Keras' layout
        ctx.fail(f"{ctx.name}: window {kernel[0]}x{kernel[1]} is larger than its input "
                 f"{h + ph}x{w + pw} (input shape [{', '.join(map(str, ctx.shape))}])", hint)
    return (h + ph - kernel[0]) // stride[0] + 1, (w + pw - kernel[1]) // stride[1] + 1


class Conv2d(OpDef):
    name = "conv2d"
    args = (Arg("filters", Int(), doc="output channels"),
            Arg("kernel", Pair(), doc="kernel size"),
            Arg("stride", Pair(), 1),
            Arg("pad", Pad(), 0, "zero padding: an int, [h, w], same or valid"),
            Arg("init", Init(), "auto", "weight initializer"),
            Arg("bias", Bool(), True))
    doc = "2-D convolution (cross-correlation), channels-first"
    shape_doc = "[C, H, W] → [filters, H', W']"
    params_doc = "weight [filters, C, kh, kw], bias [filters]"
    examples = (Example((2, 6, 6), "conv2d(3, 3, pad=1)"),
                Example((2, 6, 5), "conv2d(3, [3, 2], stride=[2, 1], pad=same)"),
                Example((3, 7, 7), "conv2d(2, 3, stride=2, pad=1, bias=false)"),
                Example((2, 7, 6), "conv2d(2, 4, stride=2, pad=same, bias=false)"))

    def resolve(self, attrs, ctx):
        ctx.need_image()
        attrs["pad"] = resolve_pad(attrs["pad"], attrs["kernel"], attrs["stride"], ctx.shape[1:])

    def shape(self, attrs, ctx):
        return (attrs["filters"], *window_out(ctx, attrs["kernel"], attrs["stride"], attrs["pad"]))

    def params(self, attrs, ctx):
        (kh, kw), c, f = attrs["kernel"], ctx.shape[0], attrs["filters"]
        fan_in, fan_out = c * kh * kw, f * kh * kw
        weight = Param("weight", (f, c, kh, kw), attrs["init"], dict(attrs["init_args"]), fan_in, fan_out, decay=True)
        return (weight, Param("bias", (f,), "zeros", {}, fan_in, fan_out)) if attrs["bias"] else (weight,)


CONV2D = Conv2d()
