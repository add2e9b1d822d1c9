"""Merges: ops that take several named values (`add(a, b)`) and produce one.

The front end binds their arguments to values (not to numbers), checks that
the shapes agree (both shapes in the message) and lowers `residual { }` to an
`add` of the block's input and its body's output.
"""
from __future__ import annotations

from .base import Arg, Choice, Example, OpDef, fmt_shape


class Merge(OpDef):
    kind = "merge"
    shape_doc = "same shapes → that shape"

    def __init__(self, name: str, doc: str, examples):
        self.name, self.doc, self.examples = name, doc, examples

    def shape(self, attrs, ctx):
        first = ctx.shapes[0]
        for shape in ctx.shapes[1:]:
            if tuple(shape) != tuple(first):
                ctx.fail(f"{ctx.name}: cannot {self.name} values of shapes {fmt_shape(first)} and {fmt_shape(shape)}",
                         "the merged values must have the same shape")
        return tuple(first)


def feature_axis(shape) -> int:
    """The feature axis of one example: channels of an image [C, H, W], the last axis otherwise."""
    return 0 if len(shape) == 3 else len(shape) - 1


class Concat(Merge):
    args = (Arg("axis", Choice(("features",)), "features", "the axis joined (only the feature axis)"),)
    shape_doc = "joins along the feature axis (last for vectors and sequences, channels for images)"

    def shape(self, attrs, ctx):
        first = ctx.shapes[0]
        axis = feature_axis(first)
        rest = lambda s: tuple(s[:axis]) + tuple(s[axis + 1:])  # noqa: E731
        for shape in ctx.shapes[1:]:
            if len(shape) != len(first) or rest(shape) != rest(first):
                ctx.fail(f"{ctx.name}: cannot concat values of shapes {fmt_shape(first)} and {fmt_shape(shape)}",
                         "concat joins along the feature axis; the other extents must agree")
        out = list(first)
        out[axis] = sum(s[axis] for s in ctx.shapes)
        return tuple(out)


ADD = Merge("add", "elementwise sum of values of one shape",
            (Example((4,), "dense(4, name=\"a\"); from x; dense(4, name=\"b\"); add(a, b)"),
             Example((5,), "dense(4); residual { dense(4); tanh }"),
             Example((2, 4, 4), "residual { conv2d(2, 3, pad=1); relu }")))
MULTIPLY = Merge("multiply", "elementwise product of values of one shape",
                 (Example((4,), "dense(3, name=\"a\"); from x; dense(3, name=\"b\"); multiply(a, b)"),
                  Example((4,), "dense(3, name=\"a\"); from x; dense(3, name=\"b\"); multiply(a, b, a)")))
CONCAT = Concat("concat", "join values along the feature axis",
                (Example((4,), "dense(3, name=\"a\"); from x; dense(2, name=\"b\"); concat(a, b); dense(2)"),
                 Example((2, 4, 4), "conv2d(2, 3, pad=1, name=\"a\"); from x; conv2d(3, 1, name=\"b\"); concat(a, b)"),
                 Example((2, 4, 4), "conv2d(2, 3, pad=1, name=\"a\"); concat(a, x)")))
