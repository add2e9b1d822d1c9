"""Activations: elementwise (any shape), or over the feature axis (softmax, log_softmax: channels of an
image, the last axis of a vector or a sequence).

Each is one small definition. `init_hint` is the initializer `init=auto` gives
the layer before it (the lecture's rule: He for the relu family, LeCun for
selu, Glorot otherwise).
"""
from __future__ import annotations

from ..ir import Param
from .base import Arg, Bool, Example, Float, OpDef


class Activation(OpDef):
    kind = "activation"

    def __init__(self, name: str, doc: str = "", *args: Arg, init_hint: str | None = None, kinks=(),
                 examples=None):
        self.name, self.doc, self.args, self.init_hint = name, doc, tuple(args), init_hint
        call = name + ("(" + ", ".join(f"{a.name}={_example_value(a)}" for a in args) + ")" if args else "")
        self.examples = tuple(examples) if examples is not None else (
            Example((5,), f"dense(4); {call}"), Example((4,), call, kinks=tuple(kinks)))


def _example_value(arg: Arg):
    """A non-default value for the conformance case, so the argument is really exercised."""
    return {"threshold": 0.1, "steepness": 2.5, "alpha": 0.3}.get(arg.name, arg.default)


def prelu_axis(rank: int) -> int:
    """The axis of one example that `prelu(channels=true)` has a slope per: channels of an image,
    features of a vector, the last axis (features) of a sequence [T, F]."""
    return rank - 1 if rank == 2 else 0


class PReLU(Activation):
    """Leaky relu with a learned slope: one shared by every feature, or one per channel."""

    params_doc = "weight [1], or [C] with channels=true (the slopes, initialized to alpha)"

    def params(self, attrs, ctx):
        n = ctx.shape[prelu_axis(len(ctx.shape))] if attrs["channels"] else 1
        return (Param("weight", (n,), "constant", {"value": attrs["alpha"]}),)


HE, LECUN = "he_normal", "lecun_normal"
ALPHA = Float(lo=0.0)

ACTIVATIONS = [
    Activation("identity", "y = x"),
    Activation("step", "1 if x > threshold else 0; zero gradient", Arg("threshold", Float(), 0.0),
               kinks=(0.1,)),
    Activation("sigmoid", "1 / (1 + exp(-steepness x))", Arg("steepness", Float(lo=0.0, lo_open=True), 1.0),
               examples=(Example((5,), "dense(4); sigmoid(steepness=2.5)"), Example((4,), "sigmoid(steepness=2.5)"),
                         Example((4,), "sigmoid"))),
    Activation("tanh", "hyperbolic tangent",
               examples=(Example((5,), "dense(4); tanh"), Example((4,), "tanh"), Example((3, 4), "tanh"))),
    Activation("scaled_tanh", "1.7159 tanh(2/3 x)"),
    Activation("hard_sigmoid", "clip(x, 0, 1)", kinks=(0.0, 1.0)),
    Activation("relu", "max(x, 0)", init_hint=HE, kinks=(0.0,),
               examples=(Example((5,), "dense(4); relu"), Example((4,), "relu", kinks=(0.0,)),
                         Example((2, 3, 3), "relu", kinks=(0.0,)))),
    Activation("leaky_relu", "x if x > 0 else alpha x", Arg("alpha", ALPHA, 0.01), init_hint=HE, kinks=(0.0,)),
    PReLU("prelu", "leaky relu with a learned slope, initialised to alpha", Arg("alpha", Float(), 0.25),
          Arg("channels", Bool(), False, "one slope per channel (image) or feature (vector, sequence)"),
          init_hint=HE, kinks=(0.0,),
          examples=(Example((5,), "dense(4); prelu(alpha=0.3)"), Example((4,), "prelu(alpha=0.3)", kinks=(0.0,)),
                    Example((2, 2, 2), "prelu(alpha=0.3)", kinks=(0.0,)),
                    Example((4,), "prelu(channels=true)", kinks=(0.0,)),
                    Example((3, 2, 2), "prelu(alpha=0.1, channels=true)", kinks=(0.0,)))),
    Activation("relu6", "min(max(x, 0), 6)", init_hint=HE, kinks=(0.0, 6.0),
               examples=(Example((5,), "dense(4); relu6"), Example((4,), "relu6", kinks=(0.0, 6.0)),
                         Example((3, 2, 2), "relu6", kinks=(0.0, 6.0), spread=3.2))),
    Activation("hard_swish", "x · relu6(x + 3) / 6 (MobileNetV3)", init_hint=HE, kinks=(-3.0, 3.0),
               examples=(Example((5,), "dense(4); hard_swish"), Example((4,), "hard_swish", kinks=(-3.0, 3.0)),
                         Example((3, 2, 2), "hard_swish", kinks=(-3.0, 3.0), spread=2.0))),
    Activation("elu", "x if x > 0 else alpha (exp(x) - 1)", Arg("alpha", Float(lo=0.0, lo_open=True), 1.0),
               kinks=(0.0,)),
    Activation("selu", "scaled elu with the self-normalizing constants", init_hint=LECUN, kinks=(0.0,)),
    Activation("softplus", "log(1 + exp(x))"),
    Activation("gelu", "x·Φ(x), Φ the standard normal CDF (exact erf form, PyTorch's default)", init_hint=HE),
    Activation("silu", "x·sigmoid(x) (swish)", init_hint=HE,
               examples=(Example((5,), "dense(4); silu"), Example((4,), "silu"), Example((3, 4), "silu"))),
    Activation("softmax", "softmax over the feature axis",
               examples=(Example((5,), "dense(4); softmax"), Example((4,), "softmax"), Example((3, 2, 2), "softmax"),
                         Example((3, 4), "softmax"))),
    Activation("log_softmax", "log of softmax over the feature axis",
               examples=(Example((5,), "dense(4); log_softmax"), Example((4,), "log_softmax"),
                         Example((3, 4), "dense(5); log_softmax"))),
]
