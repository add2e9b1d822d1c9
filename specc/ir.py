"""The typed intermediate representation every pass and backend works on.

A `Program` is what the front end hands to a backend: the model as a tree of
fully resolved layers (every attribute filled in, every shape known, every
parameter's shape and initializer chosen), plus the data and training specs.
Only the standard library is used here, so backends can depend on the IR
without dragging in the parser.

Shapes never include the batch dimension. Images are channels-first [C, H, W].
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Pos:
    """A source position: 1-based line and column, for diagnostics."""

    file: str = "<spec>"
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Call:
    """A call value such as `sgd(lr=0.1)` or `csv("x.csv", target="y")`.

    Used in the data spec (sources) and as the raw form of some train values.
    `args` are positional values, `kwargs` keyword values; both hold plain
    Python values (int, float, str, bool, list, Call, Name).
    """

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class Name:
    """A bare identifier used as a value (`loss = mse`, `target = input`)."""

    id: str
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class Param:
    """One tensor a layer owns.

    `name` is the short name ("weight", "bias", "running_mean"); the canonical
    checkpoint key is f"{layer.name}.{param.name}".  `trainable=False` marks a
    buffer (batchnorm running statistics). `decay` says whether l2 /
    weight_decay apply (weights yes, biases, norms and buffers no).
    `init` is an initializer name from specc.init, `init_args` its arguments
    (e.g. {"std": 0.01} for normal), fan_in/fan_out as used by the rule.
    """

    name: str
    shape: Shape
    init: str
    init_args: dict = field(default_factory=dict)
    fan_in: int = 0
    fan_out: int = 0
    trainable: bool = True
    decay: bool = False


@dataclass(frozen=True)
class Layer:
    """One resolved layer.

    `op` is a key of specc.ops.OPS ("dense", "conv2d", "relu", "residual", ...).
    `attrs` has every attribute of the op with defaults filled in, in the
    resolved form backends use (see specc.ops for each op's attributes; e.g.
    conv2d's `pad` is always a 4-tuple (top, left, bottom, right)).
    `body` holds the inner layers of a `residual`; empty otherwise.
    """

    name: str
    op: str
    attrs: dict
    in_shape: Shape
    out_shape: Shape
    params: tuple[Param, ...] = ()
    body: tuple["Layer", ...] = ()
    pos: Pos = field(default=Pos(), compare=False)

    def param(self, short: str) -> Param:
        for p in self.params:
            if p.name == short:
                return p
        raise KeyError(f"{self.name} has no parameter {short!r}")

    def key(self, short: str) -> str:
        """Canonical checkpoint key of one of this layer's parameters."""
        return f"{self.name}.{short}"


@dataclass(frozen=True)
class Model:
    name: str
    input_name: str
    input_shape: Shape
    layers: tuple[Layer, ...]
    pos: Pos = field(default=Pos(), compare=False)

    @property
    def output_shape(self) -> Shape:
        return self.layers[-1].out_shape if self.layers else self.input_shape

    @property
    def output_op(self) -> str | None:
        """The op of the last top-level layer (softmax, sigmoid, ...), if any."""
        return self.layers[-1].op if self.layers else None


@dataclass(frozen=True)
class Source:
    """A data source call, resolved: `kind` is xor/spirals/csv/npz/mnist/sklearn...

    `args` keeps positional arguments by their schema name, merged with
    keywords and defaults, e.g. {"path": "/abs/data.csv", "target": "y"}.
    Relative paths are already resolved against the spec's directory.
    """

    kind: str
    args: dict
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class DataSpec:
    """The `data { }` block, resolved.

    Either `source` with `split` (train, val, test fractions), or `train` with
    optional `val` (a Source, or a float fraction of train) and `test`.
    """

    source: Source | None = None
    split: tuple[float, ...] | None = None
    train: Source | None = None
    val: Source | float | None = None
    test: Source | None = None
    standardize: bool = False
    scale: float | None = None
    shuffle: bool = True
    target: str | None = None  # "input" for autoencoders
    classes: tuple[str, ...] | None = None
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class Spec:
    """A named choice with its resolved arguments: a loss, optimizer, schedule."""

    name: str
    args: dict = field(default_factory=dict)
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class EarlyStop:
    patience: int
    monitor: str = "val_loss"
    min_delta: float = 0.0
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class TrainSpec:
    """The `train { }` block, resolved, with defaults filled in.

    schedule.args always holds "per" ("step" or "epoch").
    Exactly one of `epochs` / `steps` is set.
    """

    loss: Spec
    optimizer: Spec
    schedule: Spec = Spec("constant", {"per": "step"})
    batch: int = 32
    epochs: int | None = 10
    steps: int | None = None
    l2: float = 0.0
    weight_decay: float = 0.0
    clip_norm: float | None = None
    early_stop: EarlyStop | None = None
    metrics: tuple[Spec, ...] = ()
    seed: int = 0
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class Program:
    """Everything a backend needs. `path` is the spec file (or "<string>")."""

    model: Model
    data: DataSpec | None
    train: TrainSpec | None
    path: str = field(default="<spec>", compare=False)
    source_text: str = field(default="", compare=False, repr=False)

    def all_layers(self):
        """Every layer in execution order, residual bodies included (depth first)."""
        return list(iter_layers(self.model.layers))

    def all_params(self):
        """(canonical key, Layer, Param) for every parameter, in layer order."""
        return [(layer.key(p.name), layer, p) for layer in self.all_layers() for p in layer.params]


def iter_layers(layers):
    for layer in layers:
        yield layer
        if layer.body:
            yield from iter_layers(layer.body)
