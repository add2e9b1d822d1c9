"""The table of layer ops: their arguments, defaults and kinds.

This is the one place that says what `dense(...)` or `elu(...)` accepts. The
front end resolves every layer call against it; backends key their op tables
by the same names (a test checks every backend has a row for every op).

Resolved attributes (what `Layer.attrs` holds after the passes):
  dense      units:int, bias:bool, init:str            params weight [out,in], bias [out]
  conv2d     filters:int, kernel:(kh,kw), stride:(sh,sw), pad:(top,left,bottom,right),
             bias:bool, init:str                       params weight [out,in,kh,kw], bias [out]
  maxpool/avgpool/l2pool  size:(kh,kw), stride:(sh,sw)  (no padding, floor)
  flatten    -
  dropout    p:float
  batchnorm  momentum:float, eps:float   params weight(gamma) [C], bias(beta) [C],
             buffers running_mean [C], running_var [C]; normalizes over axis 1
  maxout     units:int, pieces:int, init:str   params weight [units*pieces, in], bias [units*pieces];
             z = W x + b reshaped to [N, units, pieces], y = max over pieces
  residual   - (body layers in Layer.body)
  activations: identity, step(threshold), sigmoid(steepness), tanh, scaled_tanh,
             hard_sigmoid, relu, leaky_relu(alpha), prelu (param weight [1]),
             elu(alpha), selu, softplus, softmax, log_softmax (softmax over axis 1)
"""
from __future__ import annotations

from dataclasses import dataclass, field

REQUIRED = object()  # marker: the argument has no default


@dataclass(frozen=True)
class Arg:
    name: str
    type: str  # int | float | bool | str | pad | init | pair (int or [a, b])
    default: object = REQUIRED


@dataclass(frozen=True)
class OpSchema:
    name: str
    kind: str  # "layer" | "activation" | "container"
    args: tuple[Arg, ...] = ()
    doc: str = ""

    def arg(self, name: str) -> Arg | None:
        for a in self.args:
            if a.name == name:
                return a
        return None


def _op(name, kind, *args, doc=""):
    return OpSchema(name, kind, tuple(args), doc)


_POOL_ARGS = (Arg("size", "pair"), Arg("stride", "pair", None))

OPS: dict[str, OpSchema] = {
    s.name: s
    for s in [
        _op("dense", "layer", Arg("units", "int"), Arg("init", "init", "auto"), Arg("bias", "bool", True),
            doc="y = W x + b; W is [out, in]"),
        _op("conv2d", "layer", Arg("filters", "int"), Arg("kernel", "pair"), Arg("stride", "pair", 1),
            Arg("pad", "pad", 0), Arg("init", "init", "auto"), Arg("bias", "bool", True),
            doc="2-D convolution (cross-correlation), channels-first"),
        _op("maxpool", "layer", *_POOL_ARGS, doc="max over each receptive field"),
        _op("avgpool", "layer", *_POOL_ARGS, doc="mean over each receptive field"),
        _op("l2pool", "layer", *_POOL_ARGS, doc="sqrt of the sum of squares over each receptive field"),
        _op("flatten", "layer", doc="[C, H, W] -> [C*H*W]"),
        _op("dropout", "layer", Arg("p", "float"), doc="inverted dropout while training, identity at inference"),
        _op("batchnorm", "layer", Arg("momentum", "float", 0.1), Arg("eps", "float", 1e-5),
            doc="normalize per feature/channel; running statistics at inference"),
        _op("maxout", "layer", Arg("units", "int"), Arg("pieces", "int", 2), Arg("init", "init", "auto"),
            doc="max over `pieces` affine maps"),
        _op("residual", "container", doc="y = x + f(x)"),
        _op("identity", "activation"),
        _op("step", "activation", Arg("threshold", "float", 0.0), doc="1 if x > threshold else 0; zero gradient"),
        _op("sigmoid", "activation", Arg("steepness", "float", 1.0), doc="1 / (1 + exp(-steepness x))"),
        _op("tanh", "activation"),
        _op("scaled_tanh", "activation", doc="1.7159 tanh(2/3 x)"),
        _op("hard_sigmoid", "activation", doc="clip(x, 0, 1)"),
        _op("relu", "activation"),
        _op("leaky_relu", "activation", Arg("alpha", "float", 0.01)),
        _op("prelu", "activation", Arg("alpha", "float", 0.25), doc="leaky relu with a learned slope, initialised to alpha"),
        _op("elu", "activation", Arg("alpha", "float", 1.0)),
        _op("selu", "activation"),
        _op("softplus", "activation"),
        _op("softmax", "activation", doc="softmax over the feature axis"),
        _op("log_softmax", "activation", doc="log of softmax over the feature axis"),
    ]
}

ACTIVATIONS = frozenset(n for n, s in OPS.items() if s.kind == "activation")
PARAMETRIC = frozenset({"dense", "conv2d", "maxout", "batchnorm", "prelu"})

# init=auto: the rule chosen from the first activation after the layer.
HE_ACTIVATIONS = frozenset({"relu", "leaky_relu", "prelu"})
LECUN_ACTIVATIONS = frozenset({"selu"})
# Layers skipped when looking for "the activation that follows".
INIT_TRANSPARENT = frozenset({"dropout", "batchnorm", "maxpool", "avgpool", "l2pool", "flatten"})

INITIALIZERS = {
    # name: required argument names
    "lecun_normal": (),
    "lecun_uniform": (),
    "glorot_normal": (),
    "glorot_uniform": (),
    "he_normal": (),
    "he_uniform": (),
    "normal": ("std",),
    "uniform": ("limit",),
    "zeros": (),
}

LOSSES = {
    # name: (arguments with defaults, required last op or None)
    "mse": ({}, None),
    "mae": ({}, None),
    "huber": ({"delta": 1.0}, None),
    "bce": ({}, "sigmoid"),
    "cross_entropy": ({}, "softmax"),
    "nll": ({}, "log_softmax"),
}

OPTIMIZERS = {
    "sgd": {"lr": REQUIRED, "momentum": 0.0, "nesterov": False},
    "adagrad": {"lr": 0.01, "eps": 1e-10},
    "rmsprop": {"lr": 0.01, "rho": 0.99, "eps": 1e-8, "momentum": 0.0},
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
    "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "adamw": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01},
    # The classic single-layer rules (lecture): SGD steps on the error signal.
    "perceptron": {"lr": 1.0},
    "adaline": {"lr": REQUIRED},
}

SCHEDULES = {
    "constant": {},
    "step": {"every": REQUIRED, "gamma": 0.1},
    "piecewise": {"boundaries": REQUIRED, "values": REQUIRED},
    "exponential": {"s": REQUIRED, "base": 0.1},
    "power": {"s": REQUIRED, "p": 1.0},
    "onecycle": {"max_lr": REQUIRED, "final_lr": REQUIRED},
    "cosine": {"min_lr": 0.0},
}

METRICS = {"accuracy": {}, "top_k": {"k": REQUIRED}, "mse": {}, "mae": {}}

# Data sources: name -> [(argument, type, default or REQUIRED)], in positional order.
# Types: int, float, str, "str?" (a string or absent), path (resolved against the
# spec's directory). Loaders live in specc.data; the table is here so checking a
# spec needs no NumPy.
SOURCES: dict[str, list[tuple[str, str, object]]] = {
    "xor": [("n", "int", 4), ("noise", "float", 0.0)],
    "spirals": [("n", "int", 200), ("noise", "float", 0.1)],
    "moons": [("n", "int", 200), ("noise", "float", 0.1)],
    "circles": [("n", "int", 200), ("noise", "float", 0.05), ("factor", "float", 0.5)],
    "blobs": [("n", "int", 200), ("centers", "int", 3), ("std", "float", 1.0), ("dim", "int", 2)],
    "csv": [("path", "path", REQUIRED), ("target", "str?", None), ("delimiter", "str", ",")],
    "npz": [("path", "path", REQUIRED), ("x", "str", "x"), ("y", "str", "y")],
    "mnist": [("dir", "path", REQUIRED), ("part", "str", "train")],
    "sklearn": [("name", "str", REQUIRED)],
}
