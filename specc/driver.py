"""The training loop every backend shares.

The driver owns everything that is not arithmetic: batch order, the learning
rate of each step, when to evaluate, logging, early stopping, checkpoints,
interrupts and resume. A backend (docs/ARCHITECTURE.md, "Backend interface")
only runs steps and evaluations, so the NumPy and PyTorch backends follow the
same schedule by construction.

Counting: `step` is the number of optimizer updates done so far. The update
that is running gets index `step` (0-based; that is what `lr_at` and
`Backend.train_step` see) and, once done, the run "is at step step+1".
Messages ("non-finite loss at step 37", "interrupted at step 120") use the
1-based count, the same number the metrics files show.

No per-step host sync: `train_step` returns a loss *handle*; handles are
converted in groups (`losses_to_numpy`) every SYNC_EVERY steps and at the end
of every epoch, and each converted value is checked for NaN/inf.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import rundir
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint, save_json, save_npz, save_text, save_weights
from .data.preprocess import Preprocess
from .errors import DataError, SpecError
from .ir import Pos, Program
from .printer import format_program
from .rng import stream

BACKENDS = {
    "numpy": "specc.backends.numpy.backend:NumpyBackend",
    "torch": "specc.backends.torch.backend:TorchBackend",
}
SYNC_EVERY = 20  # steps between loss conversions: rare enough to keep a GPU busy, often enough to stop early on NaN
CURVES_EVERY = 30.0  # seconds between curves.png redraws (a render costs ~0.2 s); always drawn at the end
# Epoch-end checkpoints are skipped while the last one is younger than this: a checkpoint costs two
# fsyncs (~10 ms here), which would dominate tiny epochs (XOR: 1 step per epoch). A kill -9 loses at
# most this much work; SIGINT/SIGTERM, the end of training and resume always checkpoint exactly.
CHECKPOINT_EVERY = 1.0
MIN_EVAL_BATCH = 512  # evaluation has no gradients, so bigger batches are cheap (results do not depend on it)


# ---------------------------------------------------------------- errors

class NonFiniteLoss(SpecError):
    """The loss became NaN or inf; the CLI exits with code 3."""

    exit_code = 3


class Interrupted(Exception):
    """SIGINT/SIGTERM (or the test hook) stopped the run after a checkpoint; exit code 130."""

    exit_code = 130

    def __init__(self, step: int, run_dir: Path):
        self.step, self.run_dir = step, run_dir
        super().__init__(f"interrupted at step {step}")


# ---------------------------------------------------------------- backends

def backend_class(name):
    """The Backend class for a name in BACKENDS (imported lazily), or a class passed through."""
    if not isinstance(name, str):
        return name
    if name not in BACKENDS:
        from .errors import did_you_mean

        raise SpecError(f"unknown backend {name!r} (known: {', '.join(BACKENDS)})",
                        hint=did_you_mean(name, BACKENDS))
    module_name, cls_name = BACKENDS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        hint = "install PyTorch (pip install 'specc[torch]')" if e.name == "torch" else None
        raise SpecError(f"backend {name!r} is not available: {e}", hint=hint) from None
    return getattr(module, cls_name)


# ---------------------------------------------------------------- results

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


# ---------------------------------------------------------------- helpers

def preprocess_to_arrays(pre) -> dict[str, np.ndarray]:
    """Preprocess statistics as plain arrays (Preprocess.to_arrays: absent key = step not applied)."""
    return {} if pre is None else dict(pre.to_arrays())


def unapply_preprocess(arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The inverse of Preprocess.apply (used to swap recomputed statistics for saved ones)."""
    x = np.asarray(x, np.float64)
    if "std" in arrays:
        x = x * arrays["std"]
    if "mean" in arrays:
        x = x + arrays["mean"]
    if "scale" in arrays:
        x = x / float(arrays["scale"])
    return x.astype(np.float32)


def same_preprocess(a: dict, b: dict) -> bool:
    if set(a) != set(b):
        return False
    return all(np.asarray(a[k]).shape == np.asarray(b[k]).shape
               and np.array_equal(np.asarray(a[k]), np.asarray(b[k]), equal_nan=True) for k in a)


def first_output(outputs) -> np.ndarray:
    """Metrics are computed on the first output (a backend returns a list for several)."""
    return np.asarray(outputs[0] if isinstance(outputs, list) else outputs)


def compute_metrics(program: Program, outputs: np.ndarray, y) -> dict[str, float]:
    """The spec's metrics on one split (empty if there is no target or no metric)."""
    specs = program.train.metrics if program.train else ()
    if not specs or y is None:
        return {}
    from . import metrics

    return {k: float(v) for k, v in metrics.compute_metrics(specs, outputs, y).items()}


def monitor_mode(monitor: str) -> str:
    """'min' for losses and errors, 'max' for accuracies."""
    return "min" if monitor.endswith(("loss", "mse", "mae")) else "max"


# ---------------------------------------------------------------- the trainer

@dataclass
class _State:
    """What a checkpoint's meta record holds (besides the arrays)."""

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

    def to_meta(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_meta(cls, meta: dict) -> "_State":
        known = {k: v for k, v in meta.items() if k in cls.__dataclass_fields__}
        return cls(**known)


_META_TYPES = {int: (int,), float: (int, float), bool: (bool,), list: (list,)}


class Trainer:
    """One training run. Build with `Trainer(program, ...)`, then `run()`."""

    def __init__(self, program: Program, *, backend="numpy", out=None, resume=None, quiet: bool = True,
                 options: dict | None = None, data=None, overrides=(), interrupt_after: int | None = None,
                 handle_signals: bool = True, spec_path: str | None = None, progress_file=None,
                 checkpoint_every: float = CHECKPOINT_EVERY, force: bool = False, plot: str = "now",
                 on_epoch=None):
        if program.train is None:
            raise SpecError("the spec has no `train { }` block; training needs one", Pos(file=program.path))
        if program.data is None and data is None:
            raise SpecError("the spec has no `data { }` block; training needs one", Pos(file=program.path))
        self.program, self.train_spec = program, program.train
        from .limits import check_model_memory

        check_model_memory(program, program.train.batch)  # `dense(2000000000)`: an error before any allocation
        self.quiet, self.options = quiet, {k: v for k, v in (options or {}).items() if v is not None}
        if getattr(program.train, "dtype", "float32") != "float32":  # `dtype = float64`: both backends take it
            self.options.setdefault("dtype", program.train.dtype)
        self.overrides = list(overrides or ())
        self.interrupt_after, self.handle_signals = interrupt_after, handle_signals
        self.spec_path = spec_path or program.path
        self.progress_file = progress_file
        self.checkpoint_every = checkpoint_every
        # curves.png at the end: "now" (in this process), "later" (the caller draws it after reporting the
        # result, see curves.draw_later: importing matplotlib is half of a short run), or "off" (--no-plot)
        self.plot = plot
        self.on_epoch = on_epoch  # called with each epoch's row; a true answer stops the run there (sweep pruning)
        self.events = None        # the TensorBoard event log, open while run() runs
        self.hash = rundir.spec_hash(program)
        self.resume_hash = rundir.resume_hash(program)
        self._schedule_change: dict = {}
        self.resume = resume is not None
        self.stop_signal: str | None = None
        self._curves_at = time.monotonic()  # first redraw CURVES_EVERY after the start (and at the end)
        self._checkpoint_at = -float("inf")
        self._checkpoint_step: int | None = None  # step of the checkpoint on disk, if this process wrote/read one
        self._log_columns: list[str] = []  # columns of metrics.csv as written so far
        self._logged_rows = 0              # history rows already in the log files (0: rewrite them)
        # Under torchrun only rank 0 writes files and shows progress (the backend confirms it once built).
        self.main = os.environ.get("RANK", "0") == "0"

        # Backend class, then the run directory (checked for writability before any slow work).
        if backend is None and resume is not None:
            backend = rundir.read_manifest(rundir.require_run_dir(resume)).get("backend", "numpy")
        self.backend = None
        self.backend_spec = backend or "numpy"
        self.backend_name = (self.backend_spec if isinstance(self.backend_spec, str)
                             else getattr(self.backend_spec, "name", self.backend_spec.__name__))
        backend_cls = backend_class(self.backend_spec)
        self.lock = None  # the claim on the run directory, held (flock) while this process runs
        ckpt = self._open_resumed(resume, out) if resume is not None else None
        fresh = False
        if resume is None:
            self.run_dir = Path(out) if out is not None else None
            fresh = out is None or not self.run_dir.exists()
            if not self.main and self.run_dir is None:
                self.run_dir = rundir.default_run_dir(program.model.name)
        try:
            if resume is None and self.main:  # claimed atomically before any slow work (specc/claim.py)
                self._claim(program, force)
            self._setup(data, backend_cls, ckpt)
        except BaseException:
            if self.lock is not None:
                self.lock.release()
            if self.main and resume is None and fresh and self.run_dir is not None and self.run_dir.is_dir():
                if self.lock is not None and [p.name for p in self.run_dir.iterdir()] == [rundir.LOCK]:
                    self.lock.remove()
                if not any(self.run_dir.iterdir()):
                    self.run_dir.rmdir()  # do not leave an empty run directory behind a failed start
            raise

    def _claim(self, program: Program, force: bool) -> None:
        from . import claim

        if self.run_dir is None:
            self.run_dir, self.lock = claim.claim_default(program.model.name)
        else:
            self.lock, previous_run = claim.claim_out(self.run_dir, force=force, markers=rundir.RUN_MARKERS,
                                                      run_files=rundir.RUN_FILES)
            if previous_run:
                rundir.clear_run(self.run_dir)
        rundir.prepare(self.run_dir)

    def _open_resumed(self, resume, out) -> Checkpoint:
        """Check that `resume` is a run of this very spec and read its checkpoint."""
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise SpecError("--resume continues in the run directory it names; drop --out")
        self.run_dir = rundir.require_run_dir(resume)
        manifest = rundir.read_manifest(self.run_dir)
        # Same spec, or the same spec with another schedule (epochs/steps/schedule): "continue for longer".
        same = manifest.get("spec_hash") == self.hash
        if not same and manifest.get("resume_hash") != self.resume_hash:
            raise SpecError(
                f"cannot resume {self.run_dir}: the spec differs from the one this run was trained with "
                f"(spec hash {self.hash[:19]}... vs {str(manifest.get('spec_hash'))[:19]}...)",
                Pos(file=self.spec_path),
                hint="resume with the same spec file and --set overrides (only train.epochs, train.steps and "
                     "train.schedule may change), or start a new run")
        ckpt_path = self.run_dir / rundir.CHECKPOINT
        if not ckpt_path.exists():
            raise SpecError(f"cannot resume {self.run_dir}: it has no {rundir.CHECKPOINT}",
                            Pos(file=str(self.run_dir)),
                            hint=f"it stopped before its first checkpoint; start it over with --out {self.run_dir} "
                                 "--force")
        if self.main:
            from .claim import claim_resume

            self.lock = claim_resume(self.run_dir)  # refused while another process writes this run
        ckpt = load_checkpoint(ckpt_path)
        owner = ckpt.meta.get("resume_hash")
        if owner is not None and owner != self.resume_hash:  # e.g. a checkpoint copied from another run
            raise SpecError(f"{ckpt_path} belongs to another spec (its hash {str(owner)[:19]}... is not this "
                            f"spec's {self.resume_hash[:19]}...); not loading it", Pos(file=str(ckpt_path)),
                            hint="resume a run directory trained from this spec")
        self._schedule_change = {} if same else rundir.schedule_changes(manifest.get("schedule"), self.program)
        if self.main:
            rundir.prepare(self.run_dir)
        return ckpt

    def _setup(self, data, backend_cls, ckpt) -> None:
        program = self.program
        # Data, initial parameters, backend.
        if data is None:
            from .data import load_data

            data = load_data(program)
        self.data = data
        if data.train is None or len(data.train.x) == 0:
            raise DataError("the training split is empty", Pos(file=program.path))
        self.n_train = len(data.train.x)
        batch = self.train_spec.batch
        from .batches import check_batch_sizes

        check_batch_sizes(program, self.n_train)  # batchnorm on one sample: one rule for both backends
        self.steps_per_epoch = math.ceil(self.n_train / batch)
        self.total_steps = (self.train_spec.steps if self.train_spec.steps is not None
                            else self.train_spec.epochs * self.steps_per_epoch)
        self.eval_batch = max(batch, MIN_EVAL_BATCH)
        self.shuffle = program.data.shuffle if program.data is not None else True
        self.seed = self.train_spec.seed
        self._check_monitor()
        from .class_weights import resolve_balanced  # weights=balanced: counted on the training split

        program = self.program = resolve_balanced(program, data.train.targets)
        self.train_spec = program.train

        from .init import initial_params

        init = initial_params(program)
        if ckpt is not None:  # a checkpoint from another spec or a damaged one: a clear error, not a traceback
            self._check_checkpoint(ckpt, init)
        self.backend = backend_cls(program, init, seed=self.seed, **self.options)
        self.main = bool(getattr(self.backend, "is_main_process", lambda: self.main)())
        for split in ("train", "val", "test"):
            s = getattr(data, split, None)
            if s is not None and len(s.x):
                self.backend.put_data(split, s.inputs, s.targets)

        self.state = _State(n_train=self.n_train)
        self.best_params: dict[str, np.ndarray] = {}
        from . import tensorboard  # imported here, so the first step follows the files without a pause

        self.tensorboard = self.main and tensorboard.available()
        if ckpt is not None:
            self._restore(ckpt)
        else:
            self._write_static_files()

    # -------------------------------------------------------------- setup

    def _check_monitor(self) -> None:
        es = self.train_spec.early_stop
        if es is None:
            return
        from .errors import did_you_mean
        from .metrics import metric_name

        known = ["val_loss", "train_loss", *(f"val_{metric_name(m)}" for m in self.train_spec.metrics)]
        if es.monitor not in known:
            raise SpecError(f"early_stop cannot monitor `{es.monitor}`: the run logs {', '.join(known)}", es.pos,
                            hint=did_you_mean(es.monitor, known) or "add the metric to `metrics = [...]`")
        if es.monitor.startswith("val_") and (self.data.val is None or len(self.data.val.x) == 0):
            raise SpecError(f"early_stop monitors {es.monitor}, but the data has no validation split", es.pos,
                            hint="add `val = 0.1` (or a val source) to the data block")

    def _write_static_files(self) -> None:
        self.manifest: dict = {}
        if not self.main:
            return
        text = format_program(self.program)
        with self._writing("the run files"):
            save_text(self.run_dir / rundir.SPEC, text)
            save_npz(self.run_dir / rundir.PREPROCESS, preprocess_to_arrays(getattr(self.data, "preprocess", None)))
            rundir.write_classes(self.run_dir, getattr(self.data, "classes", None))
        self.manifest = {
            "spec_hash": self.hash,
            "resume_hash": self.resume_hash,
            "model_hash": rundir.model_hash(self.program),
            "schedule": rundir.schedule_of(self.program),
            "spec_file": str(self.spec_path),
            "spec_normalized": True,  # spec.nn is the printed, resolved program
            "overrides": self.overrides,
            "model": self.program.model.name,
            "seed": self.seed,
            "backend": self.backend_name,
            "backend_options": {k: v for k, v in self.options.items() if isinstance(v, (str, int, float, bool))},
            "versions": rundir.library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "n_train": self.n_train,
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "status": "running", "pid": os.getpid(), "host": socket.gethostname(),  # for `specc runs`
        }
        with self._writing(rundir.MANIFEST):
            save_json(self.run_dir / rundir.MANIFEST, self.manifest)

    def _check_checkpoint(self, ckpt: Checkpoint, init: dict) -> None:
        from .checkpoint import check_weights

        path = self.run_dir / rundir.CHECKPOINT
        check_weights(ckpt.params, init, path)
        if ckpt.best:
            check_weights(ckpt.best, init, path)
        if not isinstance(ckpt.meta, dict):
            raise SpecError(f"{path.name}: corrupt checkpoint metadata (not a JSON object)", Pos(file=str(path)))
        missing = [k for k in ("step", "epoch", "pos", "history") if k not in ckpt.meta]
        if missing:
            raise SpecError(f"{path.name} is not a complete specc checkpoint (no {', '.join(missing)} in its "
                            "metadata)", Pos(file=str(path)))
        for key, default in _State().to_meta().items():  # hand-edited metadata: a clear error, not a TypeError
            if key not in ckpt.meta:
                continue
            value, kinds = ckpt.meta[key], _META_TYPES.get(type(default), (type(default),))
            if default is None:
                kinds = (int, float, str, type(None))
            if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds) or \
                    (isinstance(value, int) and not isinstance(value, bool) and value < 0 and key != "best_value"):
                raise SpecError(f"{path.name}: corrupt checkpoint metadata: `{key}` is {value!r}",
                                Pos(file=str(path)), hint="resume from an intact checkpoint or start a new run")

    def _restore(self, ckpt: Checkpoint) -> None:
        self.manifest = rundir.read_manifest(self.run_dir)
        self.state = _State.from_meta(ckpt.meta)
        if self.state.n_train != self.n_train:
            raise DataError(f"cannot resume: the training split now has {self.n_train} samples, "
                            f"the run was trained on {self.state.n_train}", Pos(file=self.spec_path))
        self.backend.set_params(ckpt.params)
        if ckpt.optimizer:
            try:
                self.backend.load_optimizer_state(ckpt.optimizer)
            except (KeyError, ValueError, TypeError) as e:
                path = self.run_dir / rundir.CHECKPOINT
                raise SpecError(f"{path.name}: the optimizer state does not fit this spec's optimizer ({e})",
                                Pos(file=str(path))) from None
        self.best_params = ckpt.best
        self._checkpoint_step = self.state.step
        if self._schedule_change:
            self._record_continuation()

    def _record_continuation(self) -> None:
        """A resume with a new schedule (epochs/steps/schedule): say so in the manifest, then train on."""
        st = self.state
        if not st.stopped_early:
            st.done = False  # a finished run continues for the added steps
        self.manifest.setdefault("continued", []).append(
            {"at_step": st.step, "changed": self._schedule_change, "spec_hash": self.hash,
             "total_steps": self.total_steps})
        self.manifest.update(spec_hash=self.hash, schedule=rundir.schedule_of(self.program),
                             total_steps=self.total_steps)
        if self.main:
            with self._writing(rundir.MANIFEST):
                save_json(self.run_dir / rundir.MANIFEST, self.manifest)

    # -------------------------------------------------------------- the loop

    def run(self) -> RunResult:
        from .schedules import lr_at

        st, tr = self.state, self.train_spec
        progress = self._progress()
        pending: list[tuple[int, object]] = []  # (step index, loss handle) not yet converted
        order_epoch = None                       # the epoch whose order the backend holds
        previous = self._install_signals()
        at_sync_point = True  # ranks may only agree to stop where every rank is (see _stop_now)
        self._open_events()
        if self.resume:
            self._set_status("running")
        try:
            t0 = time.perf_counter()
            while not st.done and st.step < self.total_steps:
                # interrupt: the previous step is complete; save where we are and stop cleanly
                if self._stop_now(at_sync_point):
                    self._flush(pending, progress)
                    st.epoch_time += time.perf_counter() - t0
                    self._checkpoint()
                    self._write_logs(final=True)
                    self._ended_normally()
                    self._set_status("interrupted")
                    raise Interrupted(st.step, self.run_dir)

                # batch order of this epoch (seeded by epoch, so a resumed run sees the same order)
                if order_epoch != st.epoch:
                    order = (stream(self.seed, "shuffle", st.epoch).permutation(self.n_train) if self.shuffle
                             else np.arange(self.n_train))
                    self.backend.set_order(order)
                    if self.program.data is not None and self.program.data.augment:  # a new copy per epoch
                        from .data.augment import augment_epoch
                        x = augment_epoch(self.data.train.x, self.program.data.augment, self.seed, st.epoch)
                        self.backend.put_data("train", [x, *self.data.train.more_x], self.data.train.targets)
                    order_epoch = st.epoch

                # one optimizer step on train[order[start:stop]], lr from the schedule
                start = st.pos * tr.batch
                stop = min(start + tr.batch, self.n_train)
                lr = lr_at(tr, st.step, st.epoch, self.steps_per_epoch, self.total_steps)
                pending.append((st.step, self.backend.train_step(start, stop, lr, st.step)))
                st.step += 1
                st.pos += 1
                st.epoch_samples += stop - start
                st.last_lr = float(lr)
                progress.advance()
                if self.interrupt_after is not None and st.step >= self.interrupt_after:
                    self.stop_signal = "hook"

                # convert losses in groups (one sync) and check them
                epoch_end = st.pos == self.steps_per_epoch
                at_sync_point = len(pending) >= SYNC_EVERY or epoch_end or st.step == self.total_steps
                if at_sync_point:
                    self._flush(pending, progress, elapsed=st.epoch_time + time.perf_counter() - t0)

                # end of epoch: evaluate, log, early stopping, checkpoint
                if epoch_end:
                    st.epoch_time += time.perf_counter() - t0
                    self._end_epoch(partial=False)
                    t0 = time.perf_counter()
            # a `steps` run may stop inside an epoch: log that partial epoch too
            if not st.done and st.pos > 0:
                self._flush(pending, progress)
                st.epoch_time += time.perf_counter() - t0
                self._end_epoch(partial=True)
            return self._finish()
        finally:
            progress.close()
            self._restore_signals(previous)
            if self.lock is not None:
                self.lock.release()  # the run's files are complete: another process may resume it now
            if self.events is not None:
                self.events.close()
                self.events = None

    def _flush(self, pending: list, progress, elapsed: float | None = None) -> None:
        """Convert pending loss handles at once; stop on the first non-finite one."""
        if not pending:
            return
        st = self.state
        losses = np.asarray(self.backend.losses_to_numpy([h for _, h in pending]), np.float64)
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            index = pending[bad[0]][0]
            self._nonfinite(index, float(losses[bad[0]]))
        st.epoch_loss_sum += float(losses.sum())
        st.epoch_loss_count += len(losses)
        pending.clear()
        rate = st.epoch_samples / elapsed if elapsed else None
        progress.show(loss=float(losses[-1]), lr=st.last_lr, samples_per_s=rate, epoch=st.epoch + 1)

    def _nonfinite(self, index: int, value: float | None, what: str = "training loss") -> None:
        """Stop with a message naming the 1-based step, the layer, and the checkpoint that is kept."""
        try:
            layer = self.backend.nonfinite_layer()
        except Exception:  # diagnosis is best effort; the message matters more
            layer = None
        where = f"; first non-finite values in layer `{layer}`" if layer else ""
        ckpt = self.run_dir / rundir.CHECKPOINT
        kept = (f"the last finite checkpoint (step {self._checkpoint_step}) is {ckpt}"
                if self._checkpoint_step is not None and ckpt.exists()
                else "no checkpoint was written before it")
        became = f"became {value}" if value is not None else "became non-finite"
        self._set_status("diverged")
        raise NonFiniteLoss(
            f"{what} {became} at step {index + 1} (epoch {index // self.steps_per_epoch + 1}){where}; {kept}",
            Pos(file=self.spec_path),
            hint="lower the learning rate, add `clip_norm`, or check the data for NaN/inf")

    def _evaluate(self, split: str) -> dict | None:
        data = getattr(self.data, split, None)
        if data is None or len(data.x) == 0:
            return None
        loss, outputs = self.backend.evaluate(split, self.eval_batch)
        self._last_outputs = first_output(outputs)  # for the confusion matrix at the end of the run
        row = {"loss": float(loss)}
        row.update(compute_metrics(self.program, self._last_outputs, data.y))
        return row

    def _end_epoch(self, partial: bool) -> None:
        st = self.state
        val = self._evaluate("val")
        row = {
            "epoch": st.epoch + 1,
            "step": st.step,
            "lr": st.last_lr,
            "train_loss": st.epoch_loss_sum / st.epoch_loss_count if st.epoch_loss_count else None,
            "val_loss": val["loss"] if val else None,
        }
        if val:
            row.update({f"val_{k}": v for k, v in val.items() if k != "loss"})
        elif self.train_spec.metrics:
            # No validation split: the metrics come from an eval-mode pass over the training split
            # (the weights as they are now, like val_*), so a run still reports e.g. train_accuracy.
            # train_loss stays the running mean of the epoch's step losses.
            train = self._evaluate("train")
            if train:
                row.update({f"train_{k}": v for k, v in train.items() if k != "loss"})
        row["time"] = round(st.epoch_time, 4)
        row["samples_per_s"] = round(st.epoch_samples / st.epoch_time, 1) if st.epoch_time > 0 else None
        if partial:
            row["partial"] = True
        st.history.append(row)
        self._early_stop(row)
        if self.on_epoch is not None and not st.done:
            answer = self.on_epoch(dict(row))
            if answer:
                st.done, st.stopped_by = True, str(answer)
        st.epoch += 1
        st.pos = 0
        st.epoch_loss_sum, st.epoch_loss_count, st.epoch_samples, st.epoch_time = 0.0, 0, 0, 0.0
        self._write_logs()
        if time.monotonic() - self._checkpoint_at >= self.checkpoint_every:
            self._checkpoint()

    def _early_stop(self, row: dict) -> None:
        es, st = self.train_spec.early_stop, self.state
        if es is None:
            return
        value = row.get(es.monitor)
        if value is None:
            return
        if _world(self.backend) > 1:  # every rank decides on the same number, so no rank stops alone
            value = self.backend.all_mean(value)
        if monitor_mode(es.monitor) == "min":
            improved = st.best_value is None or value < st.best_value - es.min_delta
        else:
            improved = st.best_value is None or value > st.best_value + es.min_delta
        if improved:
            st.best_value, st.best_epoch, st.bad_epochs = float(value), row["epoch"], 0
            self.best_params = {k: np.array(v, copy=True) for k, v in self.backend.get_params().items()}
        else:
            st.bad_epochs += 1
            if st.bad_epochs >= es.patience:
                st.stopped_early = True
                st.done = True

    def _finish(self) -> RunResult:
        st = self.state
        st.done = True
        if self.best_params:  # early stopping keeps the best weights
            self.backend.set_params(self.best_params)
        test = self._evaluate("test")
        cm_split = "test" if test is not None else "val"
        if (test is not None or self._evaluate("val") is not None) and self.main:  # confusion.csv/.png
            from . import confusion

            matrix = confusion.compute(self.program, self._last_outputs, getattr(self.data, cm_split).y)
            if matrix is not None:
                # the picture follows with curves.png when the caller draws later (matplotlib is slow to import)
                confusion.write(self.run_dir, matrix, getattr(self.data, "classes", None), cm_split,
                                png=self.plot == "now")
        params = self.backend.get_params()
        if self.main:
            with self._writing(rundir.WEIGHTS):
                save_weights(self.run_dir / rundir.WEIGHTS, params,
                             {"spec_hash": self.hash, "model_hash": rundir.model_hash(self.program),
                              "params": {k: list(v.shape) for k, v in params.items()}})
        self._checkpoint()
        self._write_logs(final=True)
        if self.events is not None:
            self.events.test(test, st.step)
        result = RunResult(self.run_dir, params, list(st.history), st.step, st.epoch, st.best_epoch,
                           st.best_value, st.stopped_early, test, getattr(self.data, "classes", None))
        self.manifest["result"] = {
            "steps": st.step, "epochs": st.epoch, "best_epoch": st.best_epoch, "best_value": st.best_value,
            "monitor": self.train_spec.early_stop.monitor if self.train_spec.early_stop else None,
            "stopped_early": st.stopped_early, "best_val_loss": result.best_val_loss, "test": test,
            "stopped_by": st.stopped_by,
        }
        self.manifest["status"] = "finished"
        if self.main:
            with self._writing(rundir.MANIFEST):
                save_json(self.run_dir / rundir.MANIFEST, self.manifest)
        self._ended_normally()
        return result

    def _ended_normally(self) -> None:
        """Tell a multi-process backend that this rank ended normally (only then do ranks wait
        for each other at exit; a failed rank leaves at once instead of hanging the others)."""
        if _world(self.backend) > 1:
            self.backend.finished()

    # -------------------------------------------------------------- files

    def _checkpoint(self) -> None:
        """Save the resumable state; never over a good checkpoint with non-finite weights."""
        if not self.main:
            return
        params = self.backend.get_params()
        bad = [k for k, v in params.items() if not np.isfinite(v).all()]
        if bad:
            self._nonfinite(self.state.step - 1, None, what=f"parameter {bad[0]}")
        meta = dict(self.state.to_meta(), spec_hash=self.hash, resume_hash=self.resume_hash)
        ckpt = Checkpoint(params, self.backend.optimizer_state(), meta, self.best_params)
        with self._writing(rundir.CHECKPOINT):
            save_checkpoint(self.run_dir / rundir.CHECKPOINT, ckpt)
        self._checkpoint_step = self.state.step
        self._checkpoint_at = time.monotonic()

    @contextlib.contextmanager
    def _writing(self, what: str):
        """Turn a failed write (disk full, permissions changed mid-run) into a clear error, not a traceback.

        Writes are atomic, so the checkpoint on disk is still the last good one; say which.
        """
        try:
            yield
        except OSError as e:
            ckpt = self.run_dir / rundir.CHECKPOINT
            kept = (f"the last checkpoint (step {self._checkpoint_step}) is intact: {ckpt}"
                    if self._checkpoint_step is not None and ckpt.exists() else "no checkpoint was written yet")
            raise SpecError(f"cannot write {what} in {self.run_dir}: {e.strerror or e}; {kept}",
                            Pos(file=str(self.run_dir)),
                            hint="free some space or fix the permissions, then continue with --resume "
                                 f"{self.run_dir}") from None

    def _write_logs(self, final: bool = False) -> None:
        if self.main:
            with self._writing("the metrics logs"):
                self._write_log_files(final)

    def _write_log_files(self, final: bool) -> None:
        """metrics.csv / metrics.jsonl: append new rows; rewrite only when a new column appears.

        No fsync here: the checkpoint holds the full history, and a resume
        rewrites both files from it, so a torn log line cannot outlive a resume.
        """
        import json

        history = self.state.history
        columns = list(self._log_columns)
        for row in history[self._logged_rows:]:
            columns += [k for k in row if k not in columns]
        if columns != self._log_columns or self._logged_rows == 0:
            self._log_columns, self._logged_rows, mode = columns, 0, "w"
        else:
            mode = "a"
        rows = history[self._logged_rows:]
        with open(self.run_dir / rundir.METRICS_CSV, mode, encoding="utf-8", newline="") as f:
            if mode == "w":
                f.write(",".join(columns) + "\n")
            f.writelines(",".join(_csv_cell(r.get(k)) for k in columns) + "\n" for r in rows)
        with open(self.run_dir / rundir.METRICS_JSONL, mode, encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        self._logged_rows = len(history)
        if self.events is not None:
            self.events.rows(history)
        now = time.monotonic()
        if self.plot == "off" or (final and self.plot == "later"):
            return
        if final or now - self._curves_at >= CURVES_EVERY:
            self._curves_at = now
            try:
                from .curves import write_curves

                write_curves(self.run_dir / rundir.CURVES, history)
            except ImportError:  # matplotlib missing: curves are a nicety, not a reason to fail a run
                pass

    def _open_events(self) -> None:
        """TensorBoard events beside the metrics files (specc/tensorboard.py); the spec as text on a new run."""
        if not self.tensorboard:
            return
        from .tensorboard import EventLog

        st = self.state
        try:
            self.events = EventLog.open(self.run_dir, history=st.history, resumed_step=st.step if st.step else None)
        except OSError:  # like curves.png: a nicety, never a reason to fail a run
            self.events = None
        if self.events is not None and st.step == 0:
            self.events.spec(format_program(self.program))

    def _set_status(self, status: str) -> None:
        """Record running / interrupted / diverged in the manifest (finished comes with the result)."""
        if not self.main or not self.manifest:
            return
        self.manifest.update(status=status, pid=os.getpid(), host=socket.gethostname())
        try:
            save_json(self.run_dir / rundir.MANIFEST, self.manifest)
        except OSError:
            pass  # the status is a convenience for `specc runs`; never let it mask the real outcome

    # -------------------------------------------------------------- progress and signals

    def _stop_now(self, at_sync_point: bool) -> bool:
        """Whether to stop before the next step.

        One process: as soon as a signal arrived. Under torchrun every rank must
        stop at the same step, or the others hang in their next all-reduce: the
        ranks agree (one all-reduce of the flag) at the loss-sync points only.
        """
        if _world(self.backend) == 1:
            return self.stop_signal is not None
        if not at_sync_point:
            return False
        if self.backend.agree(self.stop_signal is not None):
            self.stop_signal = self.stop_signal or "another rank"
            return True
        return False

    def _progress(self):
        from .progress import Progress

        return Progress(self.total_steps, initial=self.state.step, quiet=self.quiet or not self.main,
                        file=self.progress_file)

    def _install_signals(self):
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            if self.stop_signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt  # a second Ctrl-C aborts at once
            self.stop_signal = signal.Signals(signum).name

        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, handler)
        return previous

    @staticmethod
    def _restore_signals(previous) -> None:
        if previous:
            for sig, h in previous.items():
                signal.signal(sig, h)


def _world(backend) -> int:
    """Processes training together (torchrun). A backend with `world` > 1 also has
    agree(flag), all_mean(value) and finished() (backends/torch/backend.py)."""
    return int(getattr(backend, "world", 1))


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def train(program: Program, **kwargs) -> RunResult:
    """Train `program` (see Trainer for the keyword arguments) and return the result."""
    return Trainer(program, **kwargs).run()


# ---------------------------------------------------------------- evaluation of a saved run

def evaluate_run(program: Program, run_dir, *, split: str = "test", backend="numpy", options=None,
                 data=None, confusion: bool = False):
    """Loss and metrics of the run's weights on one split, with the run's saved preprocessing (see run_outputs).

    confusion=True returns (row, confusion matrix or None, class names).
    """
    loss, outputs, y, classes = run_outputs(program, run_dir, split=split, backend=backend, options=options,
                                            data=data, with_classes=True)
    row = {"loss": float(loss)}
    row.update(compute_metrics(program, outputs, y))
    if confusion:
        from . import confusion as cm

        return row, cm.compute(program, outputs, y), classes
    return row


def run_outputs(program: Program, run_dir, *, split: str = "test", backend="numpy", options=None, data=None,
                with_classes: bool = False):
    """(loss, first output, targets[, class names]) of the run's weights on one split, with the run's saved
    preprocessing.

    `load_data` standardizes with statistics recomputed from the training split.
    They should equal the saved ones (same data, same seed); if they do not
    (e.g. the data file changed), the recomputed transform is undone and the
    saved one applied, so the weights always see inputs prepared as in training.
    """
    from .checkpoint import check_owner, check_weights, load_npz, load_weights_record
    from .init import initial_params

    run_dir = Path(run_dir)
    if run_dir.suffix == ".npz" and run_dir.is_file():  # accept the weights file itself
        run_dir = run_dir.parent
    run_dir = rundir.require_run_dir(run_dir)
    weights_path = run_dir / rundir.WEIGHTS
    params, record = load_weights_record(weights_path)
    check_owner(record, rundir.model_hash(program), weights_path)
    check_weights(params, initial_params(program), weights_path)
    if data is None:
        from .data import load_data

        data = load_data(program)
    from .class_weights import resolve_balanced  # weights=balanced: counted on the training split

    program = resolve_balanced(program, data.train.targets if data.train is not None else None)
    part = getattr(data, split, None)
    if part is None or len(part.x) == 0:
        raise SpecError(f"the data has no {split} split", Pos(file=program.path),
                        hint="choose another with --split (train, val or test)")
    x = part.x
    saved_path = run_dir / rundir.PREPROCESS
    if saved_path.exists():
        saved = load_npz(saved_path)
        from .data.preprocess import check_saved

        check_saved(saved, program.model.input_shape, saved_path)
        current = preprocess_to_arrays(getattr(data, "preprocess", None))
        if not same_preprocess(saved, current):
            x = Preprocess.from_arrays(saved).apply(unapply_preprocess(current, x))
    seed = program.train.seed if program.train else 0
    options = {k: v for k, v in (options or {}).items() if v is not None}
    be = backend_class(backend)(program, params, seed=seed, **options)
    be.put_data(split, [x, *part.more_x], part.targets)
    batch = max(program.train.batch if program.train else 0, MIN_EVAL_BATCH)
    loss, outputs = be.evaluate(split, batch)
    if with_classes:
        return loss, first_output(outputs), part.y, getattr(data, "classes", None)
    return loss, first_output(outputs), part.y
