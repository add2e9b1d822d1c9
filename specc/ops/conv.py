"""Convolutions (cross-correlation): conv2d on images [C, H, W], conv1d over time on sequences [T, C]."""
from __future__ import annotations

from .. import syntax as S
from ..errors import SpecError
from ..ir import Param
from ..values import as_int, as_name, show
from .base import Arg, ArgType, Bool, Example, Init, Int, OpDef, Pad, Pair, fmt_shape, pair_text
from .dense import BIAS_INIT, bias_param


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


def effective_kernel(kernel, dilation) -> tuple[int, int]:
    """The extent a dilated kernel covers: d (k - 1) + 1."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


class Conv2d(OpDef):
    name = "conv2d"
    args = (Arg("filters", Int(), doc="output channels"),
            Arg("kernel", Pair(), doc="kernel size"),
            Arg("stride", Pair(), 1),
            Arg("pad", Pad(), 0, "zero padding: an int, [h, w], [top, bottom, left, right], same or valid"),
            Arg("init", Init(), "auto", "weight initializer"),
            Arg("bias", Bool(), True),
            Arg("dilation", Pair(), 1, "spacing between kernel taps (atrous convolution)"),
            Arg("groups", Int(), 1, "channel groups; groups = C (and filters a multiple of C) is depthwise"),
            BIAS_INIT)
    doc = "2-D convolution (cross-correlation), channels-first"
    shape_doc = "[C, H, W] → [filters, H', W']"
    params_doc = "weight [filters, C/groups, kh, kw], bias [filters]"
    examples = (Example((2, 6, 6), "conv2d(3, 3, pad=1)"),
                Example((2, 6, 5), "conv2d(3, [3, 2], stride=[2, 1], pad=same)"),
                Example((3, 7, 7), "conv2d(2, 3, stride=2, pad=1, bias=false)"),
                Example((2, 7, 6), "conv2d(2, 4, stride=2, pad=same, bias=false)"),
                Example((2, 7, 8), "conv2d(3, [3, 2], dilation=[2, 3], pad=same)"),
                Example((4, 5, 5), "conv2d(6, 3, groups=2, pad=[1, 0, 2, 1])"),
                Example((3, 6, 6), "conv2d(3, 3, groups=3, stride=2, dilation=2, pad=2, bias=false)"),
                Example((2, 5, 5), "conv2d(4, 2, groups=2, pad=[0, 1, 1, 0])"))

    def resolve(self, attrs, ctx):
        ctx.need_image()
        c, f, g = ctx.shape[0], attrs["filters"], attrs["groups"]
        if c % g or f % g:
            ctx.fail(f"{ctx.name}: groups={g} must divide the input channels ({c}) and the filters ({f})",
                     f"depthwise: groups={c} with filters a multiple of {c}")
        kernel = effective_kernel(attrs["kernel"], attrs["dilation"])
        attrs["pad"] = resolve_pad(attrs["pad"], kernel, attrs["stride"], ctx.shape[1:])

    def shape(self, attrs, ctx):
        kernel = effective_kernel(attrs["kernel"], attrs["dilation"])
        return (attrs["filters"], *window_out(ctx, kernel, attrs["stride"], attrs["pad"]))

    def params(self, attrs, ctx):
        (kh, kw), g, f = attrs["kernel"], attrs["groups"], attrs["filters"]
        c = ctx.shape[0] // g
        fan_in, fan_out = c * kh * kw, f * kh * kw  # torch's fans of the weight [F, C/groups, kh, kw]
        weight = Param("weight", (f, c, kh, kw), attrs["init"], dict(attrs["init_args"]), fan_in, fan_out, decay=True)
        return (weight, bias_param(attrs, (f,), fan_in, fan_out)) if attrs["bias"] else (weight,)


def transpose_pad(pad, kernel, stride, output_padding, ctx) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """(top, left, bottom, right) cropped from the full transposed output, and the zeros added after.

    The full output of a transposed convolution is (in - 1) s + k. An explicit pad crops it
    (PyTorch's `padding`), `output_padding` adds rows/columns at the bottom/right. `same` is
    the adjoint of conv2d(pad=same) on an output of in·s: crop k - s (the extra at the
    bottom/right) or, for k < s, add s - k zeros; either way out = in·s.
    """
    if pad == "same":
        if output_padding != (0, 0):
            ctx.fail(f"{ctx.name}: `output_padding` cannot be combined with pad=same (same sets the output "
                     f"to in·stride)", "drop output_padding, or give the padding explicitly")
        crop = [max(k - s, 0) for k, s in zip(kernel, stride)]
        extra = tuple(max(s - k, 0) for k, s in zip(kernel, stride))
        return (crop[0] // 2, crop[1] // 2, crop[0] - crop[0] // 2, crop[1] - crop[1] // 2), extra
    for op, s in zip(output_padding, stride):
        if op >= s:
            ctx.fail(f"{ctx.name}: output_padding {pair_text(output_padding)} must be smaller than the stride "
                     f"{pair_text(stride)}", "output_padding only picks among the sizes one stride allows")
    return resolve_pad(pad, kernel, stride, ctx.shape[1:]), tuple(output_padding)


class Conv2dTranspose(OpDef):
    name = "conv2d_transpose"
    args = (Arg("filters", Int(), doc="output channels"),
            Arg("kernel", Pair(), doc="kernel size"),
            Arg("stride", Pair(), 1),
            Arg("pad", Pad(), 0, "rows/columns cropped from the full output; same gives out = in·stride"),
            Arg("output_padding", Pair(lo=0), 0, "rows/columns added at the bottom/right (less than stride)"),
            Arg("init", Init(), "auto", "weight initializer"),
            Arg("bias", Bool(), True),
            BIAS_INIT)
    doc = "transposed convolution (the gradient of conv2d; PyTorch ConvTranspose2d), channels-first"
    shape_doc = "[C, H, W] → [filters, (H−1)·s + k − pads + output_padding, …]"
    params_doc = "weight [C, filters, kh, kw] (PyTorch's layout), bias [filters]"
    examples = (Example((2, 3, 3), "conv2d_transpose(3, 3)"),
                Example((3, 3, 4), "conv2d_transpose(2, 3, stride=2, pad=same)"),
                Example((2, 4, 3), "conv2d_transpose(2, [2, 3], stride=[2, 3], pad=same, bias=false)"),
                Example((2, 3, 3), "conv2d_transpose(2, 4, stride=2, pad=1, output_padding=1)"),
                Example((2, 3, 4), "conv2d_transpose(3, [3, 2], stride=[3, 2], pad=[1, 0, 2, 0], output_padding=[2, 1])"),
                Example((2, 2, 3), "conv2d_transpose(2, 1, stride=3, pad=same)"))

    def resolve(self, attrs, ctx):
        ctx.need_image()
        attrs["pad"], attrs["output_padding"] = transpose_pad(attrs["pad"], attrs["kernel"], attrs["stride"],
                                                              attrs["output_padding"], ctx)

    def shape(self, attrs, ctx):
        (kh, kw), (sh, sw), (top, left, bottom, right) = attrs["kernel"], attrs["stride"], attrs["pad"]
        (oh, ow), (_, h, w) = attrs["output_padding"], ctx.shape
        out = ((h - 1) * sh + kh - top - bottom + oh, (w - 1) * sw + kw - left - right + ow)
        if min(out) < 1:
            ctx.fail(f"{ctx.name}: padding {self.arg('pad').type.show(attrs['pad'])} leaves no output "
                     f"(the full output is {(h - 1) * sh + kh}x{(w - 1) * sw + kw})")
        return (attrs["filters"], *out)

    def params(self, attrs, ctx):
        (kh, kw), c, f = attrs["kernel"], ctx.shape[0], attrs["filters"]
        fan_in, fan_out = f * kh * kw, c * kh * kw  # as torch and Keras count them for a transposed kernel
        weight = Param("weight", (c, f, kh, kw), attrs["init"], dict(attrs["init_args"]), fan_in, fan_out, decay=True)
        return (weight, bias_param(attrs, (f,), fan_in, fan_out)) if attrs["bias"] else (weight,)




CONV2D, CONV2D_TRANSPOSE = Conv2d(), Conv2dTranspose()


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
