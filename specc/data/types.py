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
    """One split: float32 x [N, *input_shape]; y int64 [N] or float32 [N, ...], or None."""

    x: np.ndarray
    y: np.ndarray | None

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Datasets:
    """What `load_data` returns. `classes` names the class indices (None for regression)."""

    train: Split
    val: Split | None
    test: Split | None
    classes: tuple[str, ...] | None
    preprocess: Preprocess
    task: str = "regression"  # "classification" | "regression" | "autoencoder"


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

    def where(self, i: int) -> tuple[Pos, str]:
        """Position and wording for sample i ("row 7" / "sample 345")."""
        f = self.y_file or self.file
        if self.lines is not None:
            return Pos(f, int(self.lines[i]), 1), f"line {int(self.lines[i])}"
        return Pos(f), f"sample {i}"


def shape_str(shape) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"
