"""The training loop every backend shares.

The driver owns everything that is not arithmetic: batch order, the learning
rate of each step, when to evaluate, logging, early stopping, checkpoints,
interrupts and resume. A backend (docs/ARCHITECTURE.md, "Backend interface")
only runs steps and evaluations, so the NumPy and PyTorch backends follow the
same schedule by construction. The pieces live beside it, one job each:
trainstate.py (what a checkpoint records), runstart.py (claiming a new run's
directory, its manifest), resume.py (is RUN a run of this spec; restoring it),
earlystop.py, metricslog.py (metrics.csv/jsonl, curves.png), stopsignals.py
(SIGINT/SIGTERM), evaluation.py (loss and metrics of outputs).

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
import math
import time
from pathlib import Path

import numpy as np

from . import earlystop, plateau, rundir, runstart
from .backend_lookup import backend_class
from .checkpoint import Checkpoint
from .data.preprocess import arrays_per_input, run_arrays
from .errors import DataError, SpecError
from .evaluation import compute_metrics, eval_batch, first_output
from .ir import Pos, Program
from .printer import format_program
from .ranks import is_main_process
from .resume import record_continuation, restore
from .rng import stream
from .runfiles import RunFiles
from .stopsignals import StopSignals
from .trainstate import RunResult, TrainState

SYNC_EVERY = 20  # steps between loss conversions: rare enough to keep a GPU busy, often enough to stop early on NaN
# Epoch-end checkpoints are skipped while the last one is younger than this: a checkpoint costs two
# fsyncs (~10 ms here), which would dominate tiny epochs (XOR: 1 step per epoch). A kill -9 loses at
# most this much work; SIGINT/SIGTERM, the end of training and resume always checkpoint exactly.
CHECKPOINT_EVERY = 1.0


class NonFiniteLoss(SpecError):
    """The loss became NaN or inf; the CLI exits with code 3."""

    exit_code = 3


class Interrupted(Exception):
    """SIGINT/SIGTERM (or the test hook) stopped the run after a checkpoint; exit code 130."""

    exit_code = 130

    def __init__(self, step: int, run_dir: Path):
        self.step, self.run_dir = step, run_dir
        super().__init__(f"interrupted at step {step}")


class Trainer:
    """One training run. Build with `Trainer(program, ...)`, then `run()`.

    signals: the command's StopSignals (held from the moment `specc train` starts); without one,
    run() installs its own when handle_signals is true. interrupt_after: stop after that many
    steps as if signalled (tests). on_epoch: called with each epoch's row; a true answer stops the
    run there (sweep pruning). plot: "now", "later" or "off" (see MetricsLog).
    """

    def __init__(self, program: Program, *, backend="numpy", out=None, resume=None, quiet: bool = True,
                 options: dict | None = None, data=None, overrides=(), interrupt_after: int | None = None,
                 handle_signals: bool = True, spec_path: str | None = None, progress_file=None,
                 checkpoint_every: float = CHECKPOINT_EVERY, force: bool = False, plot: str = "now",
                 on_epoch=None, signals: StopSignals | None = None):
        if program.train is None:
            raise SpecError("the spec has no `train { }` block; training needs one", Pos(file=program.path))
        if program.data is None and data is None:
            from .data.load import NO_SOURCE_HINT

            raise SpecError("the spec has no `data { }` block, so there is no data to train on",
                            Pos(file=program.path), hint=NO_SOURCE_HINT)
        from .limits import check_model_memory

        check_model_memory(program, program.train.batch)  # `dense(2000000000)`: an error before any allocation
        self.program, self.train_spec = program, program.train
        self.quiet, self.options = quiet, {k: v for k, v in (options or {}).items() if v is not None}
        if program.train.dtype != "float32":  # `dtype = float64`: both backends take it
            self.options.setdefault("dtype", program.train.dtype)
        self.overrides = list(overrides or ())
        self.interrupt_after, self.on_epoch = interrupt_after, on_epoch
        self.signals = signals or StopSignals()
        self.own_signals = signals is None and handle_signals  # run() installs handlers for its duration
        self.spec_path = spec_path or program.path
        self.progress_file = progress_file
        self.checkpoint_every = checkpoint_every
        self.plot = plot
        self.events = None        # the TensorBoard event log, open while run() runs
        self.hash = rundir.spec_hash(program)
        self.resume_hash = rundir.resume_hash(program)
        self.resume = resume is not None
        self._schedule_change: dict = {}
        # Under torchrun only rank 0 writes files and shows progress (the backend confirms it once built).
        self.main = is_main_process()

        # Backend class, then the run directory (checked for writability before any slow work).
        if backend is None and resume is not None:
            backend = rundir.read_manifest(rundir.require_run_dir(resume)).get("backend", "numpy")
        self.backend = None
        backend = backend or "numpy"
        self.backend_name = backend if isinstance(backend, str) else getattr(backend, "name", backend.__name__)
        backend_cls = backend_class(backend)
        self.lock = None  # the claim on the run directory, held (flock) while this process runs
        ckpt, fresh = None, False
        if resume is not None:
            from .resume import open_run

            resumed = open_run(resume, out, program, spec_hash=self.hash, resume_hash=self.resume_hash,
                               spec_path=self.spec_path, main=self.main)
            self.run_dir, self.lock, ckpt = resumed.run_dir, resumed.lock, resumed.checkpoint
            self._schedule_change = resumed.schedule_change
        else:
            self.run_dir = Path(out) if out is not None else None
            fresh = out is None or not self.run_dir.exists()
            if not self.main and self.run_dir is None:
                self.run_dir = rundir.default_run_dir(program.model.name)
        try:
            if resume is None and self.main:  # claimed atomically before any slow work (specc/claim.py)
                self.run_dir, self.lock = runstart.claim_new(self.run_dir, program.model.name, force)
                rundir.prepare(self.run_dir)
            self.files = RunFiles(self.run_dir, self.main, plot)
            self._setup(data, backend_cls, ckpt)
        except BaseException:
            runstart.abandon(self.run_dir, self.lock, fresh=fresh and resume is None, main=self.main)
            raise

    # -------------------------------------------------------------- setup

    def _setup(self, data, backend_cls, ckpt) -> None:
        """Data, initial parameters, backend; then the run's files (new run) or its checkpoint (resume)."""
        program = self.program
        if data is None:
            from .data import load_data

            data = load_data(program)
        self.data = data
        if data.train is None or len(data.train.x) == 0:
            raise DataError("the training split is empty", Pos(file=program.path))
        self.n_train = len(data.train.x)
        batch = self.train_spec.step_batch  # samples per optimizer step (batch x accumulate)
        from .batches import check_batch_sizes

        check_batch_sizes(program, self.n_train)  # batchnorm on one sample: one rule for both backends
        self.steps_per_epoch = math.ceil(self.n_train / batch)
        self.total_steps = (self.train_spec.steps if self.train_spec.steps is not None
                            else self.train_spec.epochs * self.steps_per_epoch)
        self.shuffle = program.data.shuffle if program.data is not None else True
        self.seed = self.train_spec.seed
        earlystop.check_has_val(self.train_spec, data.val is not None and len(data.val.x) > 0)
        plateau.check_has_val(self.train_spec, data.val is not None and len(data.val.x) > 0)
        from .class_weights import resolve_balanced  # weights=balanced: counted on the training split

        program = self.program = resolve_balanced(program, data.train.targets)
        self.train_spec = program.train

        from .init import initial_params

        init = initial_params(program)
        self.init_from_keys: list[str] = []
        if ckpt is None and self.train_spec.init_from is not None:  # transfer: trained weights replace the draws
            from .transfer import apply_init_from

            init, self.init_from_keys = apply_init_from(program, init)
        if ckpt is not None:  # a checkpoint from another spec or a damaged one: a clear error, not a traceback
            from .resume import check_checkpoint

            check_checkpoint(ckpt, init, self.run_dir / rundir.CHECKPOINT)
        self.backend = backend_cls(program, init, seed=self.seed, **self.options)
        self.main = bool(getattr(self.backend, "is_main_process", lambda: self.main)())
        for split in ("train", "val", "test"):
            s = getattr(data, split, None)
            if s is not None and len(s.x):
                self.backend.put_data(split, s.inputs, s.targets)

        self.state = TrainState(n_train=self.n_train)
        self.best_params: dict[str, np.ndarray] = {}
        from . import tensorboard  # imported here, so the first step follows the files without a pause

        self.tensorboard = self.main and tensorboard.available()
        self.files.main = self.main
        if ckpt is not None:
            self._restore(ckpt)
        else:
            self._write_static_files()

    def _write_static_files(self) -> None:
        """spec.nn, preprocess.npz, classes and the manifest of a new run."""
        preprocess = run_arrays(arrays_per_input(self.data), [i.name for i in self.program.model.inputs])
        manifest = runstart.new_manifest(
            self.program, spec_hash=self.hash, resume_hash=self.resume_hash, spec_path=self.spec_path,
            overrides=self.overrides, seed=self.seed, backend=self.backend_name, options=self.options,
            n_train=self.n_train, init_from_keys=self.init_from_keys, steps_per_epoch=self.steps_per_epoch,
            total_steps=self.total_steps)
        self.files.write_new_run(format_program(self.program), preprocess, getattr(self.data, "classes", None),
                                 manifest, vocab=getattr(self.data, "vocab", None))

    def _restore(self, ckpt: Checkpoint) -> None:
        self.state = restore(ckpt, self.backend, self.files, n_train=self.n_train, spec_path=self.spec_path)
        self.best_params = ckpt.best
        if self._schedule_change:
            record_continuation(self.files, self.state, self._schedule_change, spec_hash=self.hash,
                                program=self.program, total_steps=self.total_steps)

    # -------------------------------------------------------------- the loop

    def run(self) -> RunResult:
        from .schedules import lr_at

        st, tr = self.state, self.train_spec
        progress = self._progress()
        pending: list[tuple[int, object]] = []  # (step index, loss handle) not yet converted
        order_epoch = None                       # the epoch whose order the backend holds
        at_sync_point = True  # ranks may only agree to stop where every rank is (see _stop_now)
        self._open_events()
        if self.resume:
            self.files.set_status("running")
        with self.signals if self.own_signals else contextlib.nullcontext():
            try:
                t0 = time.perf_counter()
                while not st.done and st.step < self.total_steps:
                    # interrupt: the previous step is complete; save where we are and stop cleanly
                    if self._stop_now(at_sync_point):
                        self._flush(pending, progress)
                        st.epoch_time += time.perf_counter() - t0
                        self._stop_interrupted()

                    # batch order of this epoch (seeded by epoch, so a resumed run sees the same order)
                    if order_epoch != st.epoch:
                        self._start_epoch_order()
                        order_epoch = st.epoch

                    # one optimizer step on train[order[start:stop]] (the backend splits it into
                    # `accumulate` micro-batches), lr from the schedule (plateau: from the epochs so far)
                    start = st.pos * tr.step_batch
                    stop = min(start + tr.step_batch, self.n_train)
                    lr = (plateau.current_lr(tr, st) if plateau.active(tr)
                          else lr_at(tr, st.step, st.epoch, self.steps_per_epoch, self.total_steps))
                    pending.append((st.step, self.backend.train_step(start, stop, lr, st.step)))
                    st.step += 1
                    st.pos += 1
                    st.epoch_samples += stop - start
                    st.last_lr = float(lr)
                    progress.advance()
                    if self.interrupt_after is not None and st.step >= self.interrupt_after:
                        self.signals.request("hook")

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
                if self.lock is not None:
                    self.lock.release()  # the run's files are complete: another process may resume it now
                if self.events is not None:
                    self.events.close()
                    self.events = None

    def _start_epoch_order(self) -> None:
        """Hand the backend this epoch's batch order (and, with augmentation, this epoch's copy of the data)."""
        epoch = self.state.epoch
        order = (stream(self.seed, "shuffle", epoch).permutation(self.n_train) if self.shuffle
                 else np.arange(self.n_train))
        self.backend.set_order(order)
        if self.program.data is not None and self.program.data.augment:  # a new copy per epoch
            from .data.augment import augment_epoch

            x = augment_epoch(self.data.train.x, self.program.data.augment, self.seed, epoch)
            self.backend.put_data("train", [x, *self.data.train.more_x], self.data.train.targets)

    def _stop_interrupted(self) -> None:
        """Save where the run is and raise Interrupted (the CLI prints the resume command)."""
        self._checkpoint()
        self._write_logs(final=True)
        self._ended_normally()
        self.files.set_status("interrupted")
        raise Interrupted(self.state.step, self.run_dir)

    def _flush(self, pending: list, progress, elapsed: float | None = None) -> None:
        """Convert pending loss handles at once; stop on the first non-finite one."""
        if not pending:
            return
        st = self.state
        losses = np.asarray(self.backend.losses_to_numpy([h for _, h in pending]), np.float64)
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            self._nonfinite(pending[bad[0]][0], float(losses[bad[0]]))
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
        kept = self.files.kept("finite ") or "no checkpoint was written before it"
        became = f"became {value}" if value is not None else "became non-finite"
        self.files.set_status("diverged")
        raise NonFiniteLoss(
            f"{what} {became} at step {index + 1} (epoch {index // self.steps_per_epoch + 1}){where}; {kept}",
            Pos(file=self.spec_path),
            hint="lower the learning rate, add `clip_norm`, or check the data for NaN/inf")

    # -------------------------------------------------------------- epochs

    def _evaluate(self, split: str) -> dict | None:
        data = getattr(self.data, split, None)
        if data is None or len(data.x) == 0:
            return None
        loss, outputs = self.backend.evaluate(split, eval_batch(self.program))
        self._last_outputs = first_output(outputs)  # for the confusion matrix at the end of the run
        row = {"loss": float(loss)}
        row.update(compute_metrics(self.program, outputs, data.targets, data.inputs))
        return row

    def _epoch_row(self, partial: bool) -> dict:
        """The epoch's line of metrics.csv: train loss (running mean of the step losses), val loss and metrics."""
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
        elif self.train_spec.metrics or self.train_spec.output_metrics:
            # No validation split: the metrics come from an eval-mode pass over the training split
            # (the weights as they are now, like val_*), so a run still reports e.g. train_accuracy.
            train = self._evaluate("train")
            if train:
                row.update({f"train_{k}": v for k, v in train.items() if k != "loss"})
        row["time"] = round(st.epoch_time, 4)
        row["samples_per_s"] = round(st.epoch_samples / st.epoch_time, 1) if st.epoch_time > 0 else None
        if partial:
            row["partial"] = True
        return row

    def _end_epoch(self, partial: bool) -> None:
        """Log the epoch, apply early stopping and on_epoch, checkpoint (at most every checkpoint_every s)."""
        st = self.state
        row = self._epoch_row(partial)
        st.history.append(row)
        self._early_stop(row)
        self._plateau(row)
        if self.on_epoch is not None and not st.done:
            answer = self.on_epoch(dict(row))
            if answer:
                st.done, st.stopped_by = True, str(answer)
        st.start_epoch()
        self._write_logs()
        if time.monotonic() - self.files.checkpoint_at >= self.checkpoint_every:
            self._checkpoint()

    def _early_stop(self, row: dict) -> None:
        es = self.train_spec.early_stop
        if es is None or row.get(es.monitor) is None:
            return
        value = row[es.monitor]
        if _world(self.backend) > 1:  # every rank decides on the same number, so no rank stops alone
            value = self.backend.all_mean(value)
        if earlystop.observe(self.train_spec, self.state, value):
            self.state.best_epoch = row["epoch"]
            self.best_params = {k: np.array(v, copy=True) for k, v in self.backend.get_params().items()}

    def _plateau(self, row: dict) -> None:
        """schedule = plateau: the epoch's monitored value decides the next epochs' lr (ReduceLROnPlateau)."""
        tr = self.train_spec
        if not plateau.active(tr) or row.get(tr.schedule.args["monitor"]) is None or row.get("partial"):
            return
        value = row[tr.schedule.args["monitor"]]
        if _world(self.backend) > 1:  # every rank sets the same lr
            value = self.backend.all_mean(value)
        plateau.observe(tr, self.state, value)

    def _finish(self) -> RunResult:
        st = self.state
        st.done = True
        if self.best_params:  # early stopping keeps the best weights
            self.backend.set_params(self.best_params)
        test = self._evaluate("test")
        if (test is not None or self._evaluate("val") is not None) and self.main:
            self._write_confusion("test" if test is not None else "val")
        params = self.backend.get_params()
        self.files.save_weights(params, {"spec_hash": self.hash, "model_hash": rundir.model_hash(self.program),
                                         "params": {k: list(v.shape) for k, v in params.items()}})
        self._checkpoint()
        self._write_logs(final=True)
        if self.events is not None:
            self.events.test(test, st.step)
        result = RunResult(self.run_dir, params, list(st.history), st.step, st.epoch, st.best_epoch,
                           st.best_value, st.stopped_early, test, getattr(self.data, "classes", None))
        self.files.manifest["result"] = {
            "steps": st.step, "epochs": st.epoch, "best_epoch": st.best_epoch, "best_value": st.best_value,
            "monitor": self.train_spec.early_stop.monitor if self.train_spec.early_stop else None,
            "stopped_early": st.stopped_early, "best_val_loss": result.best_val_loss, "test": test,
            "stopped_by": st.stopped_by,
        }
        self.files.manifest["status"] = "finished"
        self.files.save_manifest()
        self._ended_normally()
        return result

    def _write_confusion(self, split: str) -> None:
        """confusion.csv (and .png, unless the caller draws it later with curves.png) of the last evaluation."""
        from . import confusion

        matrix = confusion.compute(self.program, self._last_outputs, getattr(self.data, split).y)
        if matrix is not None:
            confusion.write(self.run_dir, matrix, getattr(self.data, "classes", None), split,
                            png=self.plot == "now")

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
        self.files.save_checkpoint(Checkpoint(params, self.backend.optimizer_state(), meta, self.best_params),
                                   self.state.step)

    def _write_logs(self, final: bool = False) -> None:
        self.files.write_logs(self.state.history, final)
        if self.events is not None:
            self.events.rows(self.state.history)

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

    # -------------------------------------------------------------- progress and stopping

    def _stop_now(self, at_sync_point: bool) -> bool:
        """Whether to stop before the next step.

        One process: as soon as a signal arrived. Under torchrun every rank must
        stop at the same step, or the others hang in their next all-reduce: the
        ranks agree (one all-reduce of the flag) at the loss-sync points only.
        """
        if _world(self.backend) == 1:
            return self.signals.requested
        if not at_sync_point:
            return False
        if self.backend.agree(self.signals.requested):
            self.signals.request("another rank")
            return True
        return False

    def _progress(self):
        from .progress import Progress

        return Progress(self.total_steps, initial=self.state.step, quiet=self.quiet or not self.main,
                        file=self.progress_file)


def _world(backend) -> int:
    """Processes training together (torchrun). A backend with `world` > 1 also has
    agree(flag), all_mean(value) and finished() (backends/torch/backend.py)."""
    return int(getattr(backend, "world", 1))


def train(program: Program, **kwargs) -> RunResult:
    """Train `program` (see Trainer for the keyword arguments) and return the result."""
    return Trainer(program, **kwargs).run()
