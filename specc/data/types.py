"""The data contract (ARCHITECTURE.md, section Data) and the raw form sources return.

A source loader returns a `Raw`: arrays in their native dtype (uint8 for MNIST)
plus what is needed to word errors (the file, the row). Only after splitting is
x converted to float32, one split at a time, so a 60,000 x 784 uint8 set is
held as float32 once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Pos
from .preprocess import Preprocess


@dataclass
class Split:
    """One split: float32 x [N, *input_shape]; y int64 [N] or float32 [N, ...], or None.

    `x`/`y` are the first model input and output; a model with several inputs or
    outputs has the rest in `more_x`/`more_y` (in `input` / `output` order).
    """

    x: np.ndarray
    y: np.ndarray | None
    more_x: tuple = ()
    more_y: tuple = ()

    def __len__(self) -> int:
        return len(self.x)

    @property
    def inputs(self) -> list:
        """One array per model input."""
        return [self.x, *self.more_x]

    def set_input(self, k: int, array) -> None:
        """Replace the array of model input k (0 is `x`)."""
        if k == 0:
            self.x = array
        else:
            more = list(self.more_x)
            more[k - 1] = array
            self.more_x = tuple(more)

    @property
    def targets(self) -> list | None:
        """One array per model output, or None (an autoencoder's target is its input)."""
        return None if self.y is None else [self.y, *self.more_y]


@dataclass
class Datasets:
    """What `load_data` returns. `classes` names the class indices (None for regression)."""

    train: Split
    val: Split | None
    test: Split | None
    classes: tuple[str, ...] | None
    preprocess: Preprocess
    task: str = "regression"  # "classification" | "regression" | "autoencoder"
    vocab: object = None      # specc.vocab.Vocab of a text source (built from the training split), else None
    more_preprocess: tuple = ()  # the Preprocess of the model's later inputs, in `input` order (as Split.more_x)

    @property
    def input_preprocess(self) -> list:
        """One Preprocess per model input (`preprocess` is the first input's)."""
        return [self.preprocess, *self.more_preprocess]


@dataclass
class Raw:
    """A loaded source before targets, splits and preprocessing.

    `x` [N, ...] in the file's own dtype. `y` [N, ...] numeric, or a 1-D array
    of label strings (mapped to class indices later, jointly over all sources,
    so train and test agree on the mapping), or None.
    `labels` says y holds class labels (IDX labels, generated classes, sklearn
    classification sets) rather than measured values.
    `lines[i]` is the file line of sample i (CSV), for error positions.
    """

    x: np.ndarray
    y: np.ndarray | None
    file: str                      # named in messages: a path, or "xor()"
    features: str                  # "5 feature columns", "samples of shape [28, 28]"
    y_file: str | None = None      # where labels live when not in `file` (IDX)
    labels: bool = False
    label_names: tuple[str, ...] | None = None
    lines: np.ndarray | None = None
    y_text: np.ndarray | None = None   # a numeric CSV target as written (matched against `classes`)
    more_x: tuple = ()                 # the arrays of a model's other inputs (npz with x=[...])
    more_y: tuple = ()                 # the arrays of its other outputs (npz with y=[...])
    streamed: bool = False             # x (and more_x) memory-mapped, gathered per batch (npy(), data/stream.py)
    vocab: object = None               # text sources: a provisional specc.vocab.Vocab of every token in the file
    vocab_size: int | None = None      # the most ids the final vocabulary may have (sequences(vocab=...))
    token_targets: bool = False        # y holds token ids too (text(): the next tokens)

    def where(self, i: int) -> tuple[Pos, str]:
        """Position and wording for sample i ("row 7" / "sample 345")."""
        f = self.y_file or self.file
        if self.lines is not None:
            return Pos(f, int(self.lines[i]), 1), f"line {int(self.lines[i])}"
        return Pos(f), f"sample {i}"


def shape_str(shape) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"
