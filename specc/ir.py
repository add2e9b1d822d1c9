"""The typed intermediate representation every pass and backend works on.

A `Program` is what the front end hands to a backend: the model as a graph
(a DAG over named values, like ONNX) of fully resolved layers (every attribute filled in, every shape known, every
parameter's shape and initializer chosen), plus the data and training specs.
Only the standard library is used here, so backends can depend on the IR
without dragging in the parser.

Shapes never include the batch dimension. Images are channels-first [C, H, W].
"""
from __future__ import annotations

from dataclasses import dataclass, field

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
    """One resolved node of the model graph: an op applied to named values.

    `op` is a key of specc.ops.OPS ("dense", "conv2d", "relu", "add", ...).
    `attrs` has every attribute of the op with defaults filled in, in the
    resolved form backends use (see the op's definition in specc/ops/; e.g.
    conv2d's `pad` is always a 4-tuple (top, left, bottom, right)).
    `inputs` names the values it consumes (a model input or an earlier layer;
    one for most ops, several for a merge); its own output value is named by
    `name`. `in_shapes` are the shapes of those inputs.
    """

    name: str
    op: str
    attrs: dict
    inputs: tuple[str, ...]
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    params: tuple[Param, ...] = ()
    pos: Pos = field(default=Pos(), compare=False)
    # The block uses the layer sits in, outermost first (`freeze = [body]`); not compared or hashed:
    # spec.nn prints the expanded model, which has no block uses.
    scope: tuple[str, ...] = field(default=(), compare=False)

    @property
    def in_shape(self) -> Shape:
        """The shape of the first (for most ops the only) input."""
        return self.in_shapes[0] if self.in_shapes else ()

    def param(self, short: str) -> Param:
        for p in self.params:
            if p.name == short:
                return p
        raise KeyError(f"{self.name} has no parameter {short!r}")

    def key(self, short: str) -> str:
        """Canonical checkpoint key of one of this layer's parameters."""
        return f"{self.name}.{short}"


@dataclass(frozen=True)
class Input:
    """A model input: a named value of one example's shape (no batch axis)."""

    name: str
    shape: Shape
    dtype: str = "float"  # "float" | "int" (token ids)
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class Output:
    """A model output: the value `value`, exposed as `name` (the ONNX output name, the loss key)."""

    name: str
    value: str
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class Model:
    """The model as a DAG of layers over named values, in execution (source) order.

    Every layer's inputs are model inputs or earlier layers (checked once by the
    front end), so running `layers` in order is a valid schedule on any backend.
    """

    name: str
    inputs: tuple[Input, ...]
    layers: tuple[Layer, ...]
    outputs: tuple[Output, ...]
    pos: Pos = field(default=Pos(), compare=False)

    # -- the single-input / single-output view (v1 models, and most models) ---------------
    @property
    def input_name(self) -> str:
        return self.inputs[0].name

    @property
    def input_shape(self) -> Shape:
        return self.inputs[0].shape if self.inputs else ()

    @property
    def output_shape(self) -> Shape:
        return self.value_shape(self.outputs[0].value) if self.outputs else ()

    @property
    def output_op(self) -> str | None:
        """The op producing the (first) output: softmax, sigmoid, ... (None for an input)."""
        layer = self.producer(self.outputs[0].value) if self.outputs else None
        return layer.op if layer else None

    # -- graph queries ----------------------------------------------------------------------
    def producer(self, value: str) -> Layer | None:
        """The layer whose output is `value` (None for a model input)."""
        return self._producers().get(value)

    def value_shape(self, value: str) -> Shape:
        layer = self.producer(value)
        if layer is not None:
            return layer.out_shape
        for i in self.inputs:
            if i.name == value:
                return i.shape
        raise KeyError(value)

    def _producers(self) -> dict:
        cache = self.__dict__.get("_producer_cache")
        if cache is None:
            cache = {layer.name: layer for layer in self.layers}
            object.__setattr__(self, "_producer_cache", cache)
        return cache


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
class InputPrep:
    """The data block's preprocessing of one float model input: x' = (x * scale - mean) / std.

    `scale = 0.0625` / `standardize = true` set it for the model's float input; with several
    float inputs a map names them (`scale = {image: 0.0625}`, `standardize = {meta: true}`).
    """

    input: str
    scale: float | None = None
    standardize: bool | str | Spec = False  # true | "per_channel" | Spec("normalize", {"mean", "std"})
    pos: Pos = field(default=Pos(), compare=False)  # where the data block sets it (errors point there)


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
    # `scale` / `standardize` per model input, in input order; inputs not listed are used as given.
    prep: tuple[InputPrep, ...] = ()
    shuffle: bool = True
    target: str | None = None  # "input" for autoencoders
    classes: tuple[str, ...] | None = None
    pos: Pos = field(default=Pos(), compare=False)
    augment: tuple = ()  # Spec per step (random_crop, hflip, ...), training split only

    def prep_of(self, input_name: str) -> InputPrep:
        """The preprocessing of one model input (nothing, when the data block does not list it)."""
        return next((p for p in self.prep if p.input == input_name), InputPrep(input_name))


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
class InitFrom:
    """`init_from = run("runs/base")` or `npz("base.npz")`, optionally with `layers=[...]`.

    `path` is resolved against the spec's directory (a run directory for `run`, whose
    weights.npz is read; the archive itself for `npz`). `layers` None takes every
    parameter whose name the source shares; otherwise those layers' (or block uses')
    parameters only. Applied by the driver to a new run's initial parameters (specc/transfer.py).
    """

    kind: str
    path: str
    layers: tuple[str, ...] | None = None
    pos: Pos = field(default=Pos(), compare=False)


@dataclass(frozen=True)
class OutputLoss:
    """The loss of one model output, with its weight in the total (1 for a single output)."""

    output: str
    loss: Spec
    weight: float = 1.0


@dataclass(frozen=True)
class TrainSpec:
    """The `train { }` block, resolved, with defaults filled in.

    schedule.args always holds "per" ("step" or "epoch").
    Exactly one of `epochs` / `steps` is set.
    """

    losses: tuple[OutputLoss, ...]
    optimizer: Spec
    schedule: Spec = Spec("constant", {"per": "step"})
    batch: int = 32
    epochs: int | None = 10
    steps: int | None = None
    l2: float = 0.0
    weight_decay: float = 0.0
    clip_norm: float | None = None
    early_stop: EarlyStop | None = None
    metrics: tuple[Spec, ...] = ()  # `metrics = [...]`: on the first output, columns named as in v1
    # `metrics = {digit: [accuracy], recon: [mse]}`: per output name, columns prefixed with it (Keras'
    # `val_digit_accuracy`); either this or `metrics` is set, never both. See ops/catalog.metric_uses.
    output_metrics: tuple[tuple[str, tuple[Spec, ...]], ...] = ()
    seed: int = 0
    pos: Pos = field(default=Pos(), compare=False)
    dtype: str = "float32"  # "float64": both backends compute in double precision (exact comparisons)
    accumulate: int = 1     # micro-batches of `batch` samples whose gradients make one optimizer step
    init_from: InitFrom | None = None  # start from trained weights (transfer learning)
    freeze: tuple[str, ...] = ()       # layer or block-use names whose parameters are not trained

    @property
    def step_batch(self) -> int:
        """Samples per optimizer step: `batch` times `accumulate` (the batch the update is the mean over)."""
        return self.batch * self.accumulate

    @property
    def loss(self) -> Spec:
        """The loss of the first output (the only one, for most models)."""
        return self.losses[0].loss


@dataclass(frozen=True)
class Program:
    """Everything a backend needs. `path` is the spec file (or "<string>")."""

    model: Model
    data: DataSpec | None
    train: TrainSpec | None
    path: str = field(default="<spec>", compare=False)
    source_text: str = field(default="", compare=False, repr=False)
    warnings: tuple = field(default=(), compare=False, repr=False)  # SpecErrors with severity "warning"

    def all_layers(self):
        """Every layer in execution order."""
        return list(self.model.layers)

    def all_params(self):
        """(canonical key, Layer, Param) for every parameter, in layer order."""
        return [(layer.key(p.name), layer, p) for layer in self.model.layers for p in layer.params]
