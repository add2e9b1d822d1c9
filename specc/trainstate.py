"""What a training run knows about itself: the resumable state and the result handed back."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class TrainState:
    """Everything a checkpoint's meta record holds besides the arrays (JSON-safe values only)."""

    step: int = 0                 # optimizer updates done
    epoch: int = 0                # complete epochs done
    pos: int = 0                  # batches done inside the current epoch
    epoch_loss_sum: float = 0.0   # sum of converted train losses of the current epoch
    epoch_loss_count: int = 0
    epoch_samples: int = 0
    epoch_time: float = 0.0       # seconds of training spent in the current epoch
    history: list = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int | None = None
    bad_epochs: int = 0
    stopped_early: bool = False
    done: bool = False
    n_train: int = 0
    last_lr: float | None = None
    stopped_by: str | None = None  # what on_epoch answered when it stopped the run (a sweep's "pruned")
    # schedule = plateau (specc/plateau.py): the lr it set, the best monitored value, bad epochs, cooldown left
    plateau_lr: float | None = None
    plateau_best: float | None = None
    plateau_bad: int = 0
    plateau_cooldown: int = 0

    def to_meta(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_meta(cls, meta: dict) -> "TrainState":
        known = {k: v for k, v in meta.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def start_epoch(self) -> None:
        """Move on to the next epoch (after its row is logged)."""
        self.epoch += 1
        self.pos = 0
        self.epoch_loss_sum, self.epoch_loss_count, self.epoch_samples, self.epoch_time = 0.0, 0, 0, 0.0


@dataclass
class RunResult:
    run_dir: Path
    params: dict[str, np.ndarray]
    history: list[dict]
    steps: int
    epochs: int                       # epochs logged (a final partial epoch of a `steps` run counts)
    best_epoch: int | None = None     # the epoch whose weights were kept (early stopping), 1-based
    best_value: float | None = None
    stopped_early: bool = False
    test: dict | None = None          # {"loss": ..., "accuracy": ...} when there is a test split
    classes: tuple | None = None

    @property
    def best_val_loss(self) -> float | None:
        values = [r["val_loss"] for r in self.history if r.get("val_loss") is not None]
        return min(values) if values else None
