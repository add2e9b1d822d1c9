"""A training run's directory as the training process writes it (docs/cli.md, "Run directory").

Every write is atomic (checkpoint.py), and a failed one (disk full, permissions
changed mid-run) becomes a clear error that says which checkpoint is still good
and how to continue. Under torchrun only rank 0 writes: on other ranks every
method here is a no-op.
"""
from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

from . import rundir
from .checkpoint import Checkpoint, save_checkpoint, save_json, save_npz, save_text, save_weights
from .errors import SpecError
from .ir import Pos
from .metricslog import MetricsLog


class RunFiles:
    def __init__(self, run_dir: Path, main: bool, plot: str = "now"):
        self.run_dir, self.main = Path(run_dir), main
        self.manifest: dict = {}
        self.checkpoint_step: int | None = None  # step of the checkpoint on disk, if this process wrote/read one
        self.checkpoint_at = -float("inf")        # time.monotonic() of the last checkpoint written
        self.log = MetricsLog(self.run_dir, plot)

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / rundir.CHECKPOINT

    def kept(self, adjective: str = "") -> str | None:
        """The checkpoint that survives a failure, for error messages ("the last finite checkpoint
        (step 3) is runs/x/checkpoint.npz"); None if there is none."""
        if self.checkpoint_step is not None and self.checkpoint_path.exists():
            return f"the last {adjective}checkpoint (step {self.checkpoint_step}) is {self.checkpoint_path}"
        return None

    @contextlib.contextmanager
    def writing(self, what: str):
        """Turn a failed write into a clear error, not a traceback (writes are atomic: the last good
        checkpoint is still on disk)."""
        try:
            yield
        except OSError as e:
            kept = self.kept()
            kept = f"{kept}, intact" if kept else "no checkpoint was written yet"
            raise SpecError(f"cannot write {what} in {self.run_dir}: {e.strerror or e}; {kept}",
                            Pos(file=str(self.run_dir)),
                            hint=f"free some space or fix the permissions, then continue with --resume {self.run_dir}"
                            ) from None

    def write_new_run(self, spec_text: str, preprocess: dict, classes, manifest: dict, vocab=None) -> None:
        """spec.nn (the printed, resolved program), preprocess.npz, the classes, the manifest, and the
        vocabulary of a run on text data (vocab.json)."""
        if not self.main:
            return
        with self.writing("the run files"):
            save_text(self.run_dir / rundir.SPEC, spec_text)
            save_npz(self.run_dir / rundir.PREPROCESS, preprocess)
            rundir.write_classes(self.run_dir, classes)
            rundir.write_vocab(self.run_dir, vocab)
        self.manifest = dict(manifest, status="running", pid=os.getpid(), host=socket.gethostname())
        self.save_manifest()

    def save_manifest(self) -> None:
        if self.main:
            with self.writing(rundir.MANIFEST):
                save_json(self.run_dir / rundir.MANIFEST, self.manifest)

    def set_status(self, status: str) -> None:
        """Record running / interrupted / diverged (finished comes with the result), for `specc runs`."""
        if not self.main or not self.manifest:
            return
        self.manifest.update(status=status, pid=os.getpid(), host=socket.gethostname())
        try:
            save_json(self.run_dir / rundir.MANIFEST, self.manifest)
        except OSError:
            pass  # a convenience; never let it mask the real outcome

    def save_checkpoint(self, ckpt: Checkpoint, step: int) -> None:
        if not self.main:
            return
        with self.writing(rundir.CHECKPOINT):
            save_checkpoint(self.checkpoint_path, ckpt)
        self.checkpoint_step, self.checkpoint_at = step, time.monotonic()

    def save_weights(self, params: dict, record: dict) -> None:
        if self.main:
            with self.writing(rundir.WEIGHTS):
                save_weights(self.run_dir / rundir.WEIGHTS, params, record)

    def write_logs(self, history: list[dict], final: bool = False) -> None:
        if self.main:
            with self.writing("the metrics logs"):
                self.log.write(history, final)
