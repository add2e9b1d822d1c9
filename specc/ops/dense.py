"""Fully connected layers: dense and maxout."""
from __future__ import annotations

from ..ir import Param
from .base import Arg, Bool, Example, Init, Int, OpDef


def affine_params(attrs: dict, fan_in: int, rows: int, fan_out: int, bias: bool) -> tuple[Param, ...]:
    """A weight [rows, fan_in] (PyTorch Linear layout) and an optional bias [rows]."""
    weight = Param("weight", (rows, fan_in), attrs["init"], dict(attrs["init_args"]), fan_in, fan_out, decay=True)
    if not bias:
        return (weight,)
    return weight, bias_param(attrs, (rows,), fan_in, fan_out)


def bias_param(attrs: dict, shape: tuple, fan_in: int, fan_out: int) -> Param:
    """The bias, drawn by its `bias_init` rule (zeros unless the spec says otherwise)."""
    return Param("bias", shape, attrs["bias_init"], dict(attrs["bias_init_args"]), fan_in, fan_out)


BIAS_INIT = Arg("bias_init", Init(allow_auto=False), "zeros", "bias initializer, e.g. constant(0.1)")


class Dense(OpDef):
    name = "dense"
    args = (Arg("units", Int(), doc="output features"),
            Arg("init", Init(), "auto", "weight initializer; auto picks from the activation that follows"),
            Arg("bias", Bool(), True, "add a learned bias"), BIAS_INIT)
    doc = "y = x·Wᵀ + b; W is [out, in]"
    shape_doc = "[in] → [units]; [T, in] → [T, units] (per position)"
    params_doc = "weight [units, in], bias [units]"
    examples = (Example((5,), "dense(4)"), Example((6,), "dense(2, bias=false)"), Example((3, 4), "dense(2)"),
                Example((3,), "dense(2, init=he_uniform(mode=fan_out), bias_init=constant(0.1))"))

    def shape(self, attrs, ctx):
        return (*ctx.need_features()[:-1], attrs["units"])

    def params(self, attrs, ctx):
        n_in, units = ctx.shape[-1], attrs["units"]
        return affine_params(attrs, n_in, units, units, attrs["bias"])


class Maxout(OpDef):
    name = "maxout"
    args = (Arg("units", Int(), doc="output features"),
            Arg("pieces", Int(), 2, "affine maps per unit"),
            Arg("init", Init(), "auto", "weight initializer"), BIAS_INIT)
    doc = "max over `pieces` affine maps"
    shape_doc = "[in] → [units]"
    params_doc = "weight [units·pieces, in] (row j·pieces + k is piece k of unit j), bias [units·pieces]"
    examples = (Example((5,), "maxout(3, pieces=3)", distinct=True), Example((4,), "maxout(2)", distinct=True),
                Example((6,), "maxout(3, pieces=4)", distinct=True))

    def shape(self, attrs, ctx):
        ctx.need_vector()
        return (attrs["units"],)

    def params(self, attrs, ctx):
        return affine_params(attrs, ctx.shape[0], attrs["units"] * attrs["pieces"], attrs["units"], True)


DENSE, MAXOUT = Dense(), Maxout()
