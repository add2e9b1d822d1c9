"""The catalog: every choice a `train` or `data` block names, with its arguments and defaults.

Losses, optimizers, schedules, metrics, initializers and data sources. The front
end checks spec values against these tables (specc/passes/sections.py); backends
and the driver read the checked, filled-in values from the IR and never
re-default them. Layer ops are defined in specc/ops/ (one definition per op).
"""
from __future__ import annotations

REQUIRED = object()  # marker: the argument has no default


INITIALIZERS = {
    # name: {argument: default or REQUIRED}. `mode` is the fan the variance is scaled by
    # (fan_in, or fan_out as torch's kaiming_normal_(mode="fan_out") and Keras' VarianceScaling).
    "lecun_normal": {"mode": "fan_in"},
    "lecun_uniform": {"mode": "fan_in"},
    "glorot_normal": {},
    "glorot_uniform": {},
    "he_normal": {"mode": "fan_in"},
    "he_uniform": {"mode": "fan_in"},
    "normal": {"std": REQUIRED},
    "uniform": {"limit": REQUIRED},
    "zeros": {},
    "ones": {},
    "constant": {"value": REQUIRED},
}

LOSSES = {
    # name: (arguments with defaults, required last op or None)
    "mse": ({}, None),
    "mae": ({}, None),
    "huber": ({"delta": 1.0}, None),
    # pos_weight: one number, or one per output unit (F.binary_cross_entropy_with_logits)
    "bce": ({"pos_weight": None}, "sigmoid"),
    # weights: one per class, or `balanced` (n / (classes * count_c) on the training split)
    "cross_entropy": ({"weights": None, "label_smoothing": 0.0}, "softmax"),
    # softmax focal loss: -(1 - p_t)^gamma log p_t, mean over the batch
    "focal": ({"gamma": 2.0}, "softmax"),
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
    # linear warmup from 0 over `steps` or `epochs` (exactly one), then the schedule `then`
    "warmup": {"steps": None, "epochs": None, "then": "constant"},
    # ReduceLROnPlateau: multiply the lr by `factor` once `monitor` has not improved (by more than
    # `threshold`, relative or absolute) for more than `patience` epochs; then wait `cooldown` epochs.
    # The one schedule driven by a metric (stepped after each epoch's validation), so not a function of t.
    "plateau": {"factor": 0.1, "patience": 10, "monitor": "val_loss", "min_lr": 0.0, "threshold": 1e-4,
                "threshold_mode": "rel", "cooldown": 0},
}

METRICS = {"accuracy": {}, "top_k": {"k": REQUIRED}, "mse": {}, "mae": {},
           # classification (scikit-learn's definitions); per_class adds one column per class
           "precision": {"per_class": False}, "recall": {"per_class": False}, "f1": {"per_class": False},
           "auc": {},  # ROC AUC: binary, or one-vs-rest macro over softmax outputs
           "r2": {},
           "perplexity": {}}  # exp(mean cross-entropy); per position for sequence outputs


def metric_name(spec) -> str:
    """The stable column name of a metric in the logs: "accuracy", "top_5", "mse", "mae"
    (per_class metrics add one column per class beside it)."""
    return f"top_{spec.args['k']}" if spec.name == "top_k" else spec.name


def metric_uses(train) -> list[tuple[int, str, object]]:
    """Every metric of a TrainSpec as (output index, column prefix, metric spec), in log order.

    `metrics = [accuracy]` is on the first output with no prefix (the column is `accuracy`);
    `metrics = {digit: [accuracy]}` names the output, and its columns carry it (`digit_accuracy`).
    The one place that decides which output a metric reads and what its column is called.
    """
    if train is None:
        return []
    if not train.output_metrics:
        return [(0, "", m) for m in train.metrics]
    index = {ol.output: i for i, ol in enumerate(train.losses)}
    return [(index[out], f"{out}_", m) for out, specs in train.output_metrics for m in specs]


def metric_columns(train) -> list[str]:
    """The column name of every metric of a TrainSpec ("accuracy", "digit_top_5"), without val_/train_."""
    return [prefix + metric_name(m) for _, prefix, m in metric_uses(train)]

# Data sources: name -> [(argument, type, default or REQUIRED)], in positional order.
# Types: int, float, str, "str?" (a string or absent), "names" (a key, or a list of keys:
# one per model input or output), path (resolved against the spec's directory), "names?"
# (a list of column names or absent), "size" ([H, W] or one number), "channels" (1 or 3),
# "char" (one character), or a tuple of the allowed names. The front end checks every argument
# against this table once (passes/sections.py); the loaders in specc.data trust what it passed.
# The table is here so checking a spec needs no NumPy.
SOURCES: dict[str, list[tuple[str, str, object]]] = {
    "xor": [("n", "int", 4), ("noise", "float", 0.0)],
    "spirals": [("n", "int", 200), ("noise", "float", 0.1)],
    "moons": [("n", "int", 200), ("noise", "float", 0.1)],
    "circles": [("n", "int", 200), ("noise", "float", 0.05), ("factor", "float", 0.5)],
    "blobs": [("n", "int", 200), ("centers", "int", 3), ("std", "float", 1.0), ("dim", "int", 2)],
    "csv": [("path", "path", REQUIRED), ("target", "str?", None), ("delimiter", "char", ","), ("features", "names?", None)],
    "parquet": [("path", "path", REQUIRED), ("target", "str?", None), ("features", "names?", None)],
    "images": [("dir", "path", REQUIRED), ("size", "size", REQUIRED), ("channels", "channels", 3)],
    "npz": [("path", "path", REQUIRED), ("x", "names", "x"), ("y", "names", "y")],
    "npy": [("dir", "path", REQUIRED), ("x", "names", "x"), ("y", "names", "y")],
    "mnist": [("dir", "path", REQUIRED), ("part", ("train", "test"), "train")],
    "sklearn": [("name", ("digits", "iris", "wine", "breast_cancer", "diabetes"), REQUIRED)],  # bundled with scikit-learn
    # Text (specc/data/text.py): token ids, vocabulary built from the training split.
    # context / max_len must equal the model input's T (checked statically, passes/textdata.py).
    "text": [("path", "path", REQUIRED), ("level", ("char", "word"), "char"), ("context", "int", REQUIRED),
             ("stride", "int", None)],
    "sequences": [("path", "path", REQUIRED), ("text", "str", "text"), ("target", "str", "label"),
                  ("level", ("char", "word"), "word"), ("max_len", "int", REQUIRED), ("vocab", "int", 20000)],
}

# Training-time augmentation (`augment = [...]` in `data`): name -> [(argument, type, default)].
# Types: "size?" ([H, W], one number, or None for the input's size), "int0" (0 or more),
# "float+" (above 0), "prob" (in [0, 1]). Implemented in specc/data/augment.py.
AUGMENTS: dict[str, list[tuple[str, str, object]]] = {
    "random_crop": [("size", "size?", None), ("pad", "int0", 4)],
    "hflip": [("p", "prob", 0.5)],
    "random_rotate": [("degrees", "float+", REQUIRED)],
    "noise": [("std", "float+", REQUIRED)],
}
