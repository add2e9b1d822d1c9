"""NumpyBackend: the reference implementation of the driver <-> backend interface.

Update order per step (docs/ARCHITECTURE.md): data-loss gradients -> + l2 * w on
decaying params -> clip the global norm of all trainable gradients ->
decoupled weight decay w <- (1 - weight_decay) w -> optimizer step at this
step's lr. Everything is float32 unless the initial parameters are float64
(gradient checks), and the parameter arrays are updated in place.

Options: prefetch=None|True|False (streamed data: a thread reads the next chunks of
steps while the step runs; default: tried when the process may use more cores than
BLAS uses threads, and kept if it makes the steps faster, data.stream.reads_ahead and
blas_threads). Other options are the torch backend's and are ignored here.
"""
from __future__ import annotations

import os

import numpy as np

from specc.batches import micro_batches
from specc.data.stream import EpochReads, is_streamed, reads_ahead
from specc.ir import Program
from specc.memory import keep_freed_memory
from specc.regularize import add_l2, clip_global_norm, decoupled_decay
from specc.transfer import frozen_keys

from . import losses
from .model import Network, as_list
from .ops import Context

RULES = ("perceptron", "adaline")  # optimizers whose "gradient" is the rule's error signal


def make_optimizer(spec, params, trainable):
    """backends/numpy/optim.py, imported on first use (tests may substitute a stand-in here)."""
    from .optim import make_optimizer as make
    return make(spec, params, trainable)


def blas_threads() -> int:
    """The threads NumPy's BLAS computes with: what OpenBLAS, MKL and OpenMP read from the
    environment, else one per CPU (their default)."""
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


class NumpyBackend:
    name = "numpy"

    def __init__(self, program: Program, params: dict[str, np.ndarray], *, seed: int,
                 dtype=None, prefetch: bool | None = None, **options):
        self.program = program
        self.seed = int(seed)
        keep_freed_memory()  # steps reuse their temporaries' memory instead of page-faulting it in again
        if dtype is None:
            dtype = np.float64 if any(np.asarray(v).dtype == np.float64 for v in params.values()) else np.float32
        self.dtype = np.dtype(dtype)
        entries = program.all_params()
        missing = [k for k, _, _ in entries if k not in params]
        if missing:
            raise KeyError(f"missing initial parameters: {', '.join(missing[:5])}")
        # own copies, in the compute dtype; the optimizer updates them in place
        self.params = {k: np.array(params[k], dtype=self.dtype, copy=True) for k, _, _ in entries}
        frozen = frozen_keys(program)  # train.freeze: no update, no decay, no optimizer state
        self.trainable = [k for k, _, p in entries if p.trainable and k not in frozen]
        self.decaying = [k for k, _, p in entries if p.trainable and p.decay and k not in frozen]
        train = program.train
        self.train_spec = train
        self.net = Network(program.model, self.params, train.losses if train else None)
        self.opt = make_optimizer(train.optimizer, self.params, self.trainable) if train else None
        self.rule = train.optimizer.name if train and train.optimizer.name in RULES else None
        self.data: dict[str, tuple[list, list | None]] = {}
        self.order: np.ndarray | None = None
        self._reads = EpochReads(reads_ahead(prefetch, blas_threads()))  # a streamed training split's batches
        self._last = None          # (indices, step) of the last training batch
        self._nonfinite: str | None = None

    # -- data -------------------------------------------------------------------------------
    def put_data(self, split: str, x, y) -> None:
        """x: one array per model input (or the array of the only one); y likewise per output, or None.
        A streamed input (specc/data/stream.py) stays on disk: _take and _evaluate read it a batch at a time."""
        xs = [(v if v.dtype.kind in "iu" and i.dtype == "int" else v.astype(self.dtype)) if is_streamed(v)
              else np.ascontiguousarray(v) if np.issubdtype(np.asarray(v).dtype, np.integer) and i.dtype == "int"
              else np.ascontiguousarray(v, dtype=self.dtype) for v, i in zip(as_list(x), self.program.model.inputs)]
        ys = None
        if y is not None:
            ys = []
            for t in as_list(y):
                if is_streamed(t):  # an autoencoder's target: its streamed input, read per batch
                    ys.append(t.astype(self.dtype))
                    continue
                t = np.asarray(t)
                ys.append(t.astype(np.int64, copy=False) if np.issubdtype(t.dtype, np.integer)
                          else np.ascontiguousarray(t, dtype=self.dtype))
        self.data[split] = (xs, ys)
        if split == "train":
            self._reads.reset()

    def set_order(self, order: np.ndarray) -> None:
        self.order = np.asarray(order, dtype=np.int64)
        self._reads.reset()

    @property
    def data_wait_s(self) -> float:
        """Seconds the training thread has waited for streamed chunks the read-ahead thread had not finished."""
        return self._reads.waited

    # -- training ---------------------------------------------------------------------------
    def train_step(self, start: int, stop: int, lr: float, step: int):
        # overflow shows up as a non-finite loss, which the driver reports with
        # nonfinite_layer(); NumPy's RuntimeWarnings would only add noise
        with np.errstate(all="ignore"):
            return self._train_step(start, stop, lr, step)

    def _train_step(self, start: int, stop: int, lr: float, step: int):
        idx = self.order[start:stop] if self.order is not None else np.arange(start, stop)
        self._last = (idx, step)
        ctx = Context(True, seed=self.seed, step=step)  # one dropout stream for the whole step
        loss, grads = 0.0, {}
        step_x, step_y = self._step_batch(start, stop, idx)
        for a, b in micro_batches(0, len(idx), self.train_spec.accumulate):
            # accumulate = k: the step's mean over its samples, micro-batch by micro-batch (weights n_i / n)
            x, y = [v[a:b] for v in step_x], [v[a:b] for v in step_y]
            part_loss, part = self._loss_and_grads(x, y, ctx)
            if (a, b) == (0, len(idx)):
                loss, grads = part_loss, part
                break
            w = (b - a) / len(idx)
            loss += w * part_loss
            for key, g in part.items():
                grads[key] = grads[key] + w * g if key in grads else w * g
        if not np.isfinite(loss):  # diagnose before the update spreads NaN into the weights
            x, y = self._take("train", idx)
            self._nonfinite = self.net.first_nonfinite(
                x, y, Context(True, seed=self.seed, step=step, update_buffers=False))
        self._update({k: grads[k] for k in self.trainable}, lr)
        return loss

    def _loss_and_grads(self, x, y, ctx):
        if self.rule:  # perceptron / adaline: the rule's error signal, not the loss gradient
            return self.net.rule_grads(x, y, ctx, self.rule)
        return self.net.loss_and_grads(x, y, ctx)

    def _step_batch(self, start: int, stop: int, idx):
        """The step's (x, y). A streamed training split is read a chunk of steps at a time (one gather,
        conversion and preprocessing per ~2 MiB: data/stream.OrderedChunks), giving the same rows."""
        xs, ys = self.data["train"]
        if not any(is_streamed(a) for a in [*xs, *(ys or ())]):
            return self._take("train", idx)
        order = self.order if self.order is not None else np.arange(len(xs[0]))
        arrays = self._reads.epoch([*xs, *(ys or ())], order, self.train_spec.step_batch).read(start, stop)
        x = arrays[:len(xs)]
        return x, (x if ys is None else arrays[len(xs):])

    def _take(self, split: str, idx):
        """The batch idx of a split; an autoencoder's target (no y) is its input."""
        xs, ys = self.data[split]
        x = [a[idx] for a in xs]
        return x, (x if ys is None else [t[idx] for t in ys])

    def _update(self, grads: dict[str, np.ndarray], lr: float) -> None:
        """l2 -> clip_norm -> decoupled weight decay -> optimizer step (docs/ARCHITECTURE.md)."""
        t, p = self.train_spec, self.params
        add_l2(grads, p, t.l2, self.decaying)
        if t.clip_norm is not None:
            clip_global_norm({k: grads[k] for k in self.trainable}, t.clip_norm)
        decoupled_decay(p, t.weight_decay, self.decaying)
        self.opt.step(p, grads, lr)

    def losses_to_numpy(self, handles: list) -> np.ndarray:
        return np.asarray(handles, dtype=np.float64)

    # -- inference --------------------------------------------------------------------------
    def evaluate(self, split: str, batch_size: int) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            return self._evaluate(split, batch_size)

    def _evaluate(self, split: str, batch_size: int):
        xs, ys = self.data[split]
        n = len(xs[0])
        total, count, outs = 0.0, 0, []
        for s in range(0, n, batch_size):
            x = [a[s:s + batch_size] for a in xs]
            y = x if ys is None else [t[s:s + batch_size] for t in ys]
            loss, out = self.net.evaluate(x, y)
            masks = self.net.output_masks(dict(zip((i.name for i in self.program.model.inputs), x)))
            weight = losses.loss_weight(y, len(x[0]), len(self.program.model.outputs), masks[0] if masks else None)
            total += (loss if loss is not None else np.nan) * weight
            count += weight
            outs.append(out)
        mean = total / count if count else float("nan")
        return float(mean), self._join(outs)

    def _join(self, outs: list):
        """Per-batch output lists -> one float32 array per output (a bare array for one output)."""
        model = self.program.model
        joined = [np.concatenate([o[k] for o in outs]).astype(np.float32, copy=False) if outs
                  else np.zeros((0, *model.value_shape(out.value)), np.float32)
                  for k, out in enumerate(model.outputs)]
        return joined[0] if len(joined) == 1 else joined

    def predict(self, x, batch_size: int):
        xs = [np.asarray(a, dtype=self.dtype) if i.dtype != "int" else np.asarray(a)
              for a, i in zip(as_list(x), self.program.model.inputs)]
        with np.errstate(all="ignore"):
            outs = [as_list(self.net.outputs([a[s:s + batch_size] for a in xs])) for s in range(0, len(xs[0]), batch_size)]
        return self._join(outs)

    # -- inspection (specc verify) ------------------------------------------------------------
    def activations(self, x) -> dict[str, np.ndarray]:
        """{layer name: output} in eval mode for the inputs x (one array per model input)."""
        with np.errstate(all="ignore"):
            env = self.net.forward(as_list(x), Context(False))
        return {layer.name: env[layer.name] for layer in self.program.model.layers}

    def loss_and_grads(self, x, y, training: bool) -> tuple[float, dict[str, np.ndarray]]:
        """(data loss, {canonical key: gradient}) of one batch; no update, running statistics untouched."""
        ctx = Context(training, seed=self.seed, step=0, update_buffers=False)
        loss, grads = self.net.loss_and_grads(as_list(x), as_list(y), ctx)
        return float(loss), grads

    # -- state ------------------------------------------------------------------------------
    def get_params(self) -> dict[str, np.ndarray]:
        return {k: v.astype(np.float32, copy=True) for k, v in self.params.items()}

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy into the existing arrays (the network and optimizer keep references)."""
        for k, v in params.items():
            if k not in self.params:
                raise KeyError(f"unknown parameter {k!r}")
            v = np.asarray(v)
            if v.shape != self.params[k].shape:
                raise ValueError(f"parameter {k} has shape {list(v.shape)}, expected "
                                 f"{list(self.params[k].shape)}")
            self.params[k][...] = v

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return self.opt.state_dict() if self.opt else {}

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        if self.opt:
            self.opt.load_state_dict(state)

    def nonfinite_layer(self) -> str | None:
        if self._nonfinite is not None or self._last is None:
            return self._nonfinite
        idx, step = self._last  # recompute on the last training batch with the current weights
        with np.errstate(all="ignore"):
            return self.net.first_nonfinite(
                *self._take("train", idx), Context(True, seed=self.seed, step=step, update_buffers=False))
