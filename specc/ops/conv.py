"""Convolutions (cross-correlation): conv2d on images [C, H, W], conv1d over time on sequences [T, C]."""
from __future__ import annotations

from .. import syntax as S
from ..errors import SpecError
from ..ir import Param
from ..values import as_int, as_name, show
from .base import Arg, ArgType, Bool, Example, Init, Int, OpDef, Pad, Pair, fmt_shape


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


# ---- over time: [T, C] ------------------------------------------------------------------------
class TimePad(ArgType):
    """`same`, `valid` or an int (zeros on both ends of the time axis); resolved to (before, after)."""

    doc = "int, same or valid"

    def check(self, v, what):
        if isinstance(v, S.NameV) or (isinstance(v, S.Lit) and isinstance(v.value, str)):
            return as_name(v, "padding", {"same", "valid"})
        if isinstance(v, S.Lit):
            return as_int(v, what, lo=0)
        raise SpecError(f"{what} must be a whole number, `same` or `valid`, got `{show(v)}`", getattr(v, "pos", None))

    def show(self, value):
        before, after = value
        return str(before) if before == after else "same"  # only `same` resolves to uneven ends

    def from_default(self, value):
        return (value, value)


def span(kernel: int, dilation: int) -> int:
    """Steps one dilated kernel covers."""
    return dilation * (kernel - 1) + 1


def resolve_time_pad(pad, kernel: int, stride: int, dilation: int, t: int) -> tuple[int, int]:
    """(before, after): `same` gives ceil(T / stride) outputs, the extra step at the end (TensorFlow)."""
    if pad == "valid":
        return (0, 0)
    if pad == "same":
        return same_pad(t, span(kernel, dilation), stride)
    return (pad, pad) if isinstance(pad, int) else tuple(pad)


class Conv1d(OpDef):
    name = "conv1d"
    args = (Arg("filters", Int(), doc="output channels"),
            Arg("kernel", Int(), doc="kernel length (steps)"),
            Arg("stride", Int(), 1),
            Arg("pad", TimePad(), 0, "zeros at both ends of the time axis: an int, same or valid"),
            Arg("dilation", Int(), 1, "steps between kernel taps"),
            Arg("init", Init(), "auto", "weight initializer"),
            Arg("bias", Bool(), True))
    doc = "1-D convolution (cross-correlation) over time, PyTorch's weight layout"
    shape_doc = "[T, C] → [T', filters]"
    params_doc = "weight [filters, C, kernel], bias [filters]"
    keeps_mask = False
    examples = (Example((6, 3), "conv1d(4, 3)"),
                Example((7, 2), "conv1d(3, 3, stride=2, pad=1, bias=false)"),
                Example((8, 3), "conv1d(2, 2, dilation=2, pad=same)"),
                Example((7, 2), "conv1d(2, 4, stride=2, pad=same)"))

    def resolve(self, attrs, ctx):
        t, _ = ctx.need_sequence()
        attrs["pad"] = resolve_time_pad(attrs["pad"], attrs["kernel"], attrs["stride"], attrs["dilation"], t)

    def shape(self, attrs, ctx):
        t = time_out(ctx, attrs["kernel"], attrs["stride"], attrs["pad"], attrs["dilation"])
        return (t, attrs["filters"])

    def params(self, attrs, ctx):
        k, c, f = attrs["kernel"], ctx.shape[1], attrs["filters"]
        weight = Param("weight", (f, c, k), attrs["init"], dict(attrs["init_args"]), c * k, f * k, decay=True)
        return (weight, Param("bias", (f,), "zeros", {}, c * k, f * k)) if attrs["bias"] else (weight,)


def time_out(ctx, kernel: int, stride: int, pad, dilation: int = 1) -> int:
    """Output length of a window sliding over time (floor), or an error when it does not fit."""
    t = ctx.shape[0]
    steps = span(kernel, dilation)
    if steps > t + pad[0] + pad[1]:
        what = f"window {kernel}" + (f" (dilation {dilation}: {steps} steps)" if dilation > 1 else "")
        padded = f" ({t} padded to {t + pad[0] + pad[1]})" if pad[0] or pad[1] else ""
        ctx.fail(f"{ctx.name}: {what} is longer than its sequence of {t} steps{padded} "
                 f"(input shape {fmt_shape(ctx.shape)})", "use a shorter kernel, padding, or a longer input")
    return (t + pad[0] + pad[1] - steps) // stride + 1


CONV1D = Conv1d()
