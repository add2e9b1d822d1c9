"""TorchBackend: the driver's Backend interface (docs/ARCHITECTURE.md) on PyTorch.

Speed rules that shape this file:
* Data that fits stays on the device (put_data); every epoch the driver's batch
  order is uploaded once (set_order) and batches are gathered on the device by
  slicing it, so there is no host-to-device copy per batch.
  Batches are gathered into buffers reused every step.
* No per-step host sync on CUDA: train_step returns the detached loss tensor and
  losses_to_numpy stacks many of them and syncs once. (On CPU, where reading a
  scalar is free, a non-finite loss is diagnosed before the update, as in NumPy.)
* Training stops at the logits when the loss is fused (no softmax thrown away).
* Fused optimizers on CUDA, foreach elsewhere; optional autocast (`amp`) and
  torch.compile (`compile`).

Options: device="auto"|"cpu"|"cuda"|"cuda:N" (auto = CUDA when present),
amp=False|True|"bf16"|"fp16" (CUDA only; True = bf16 where supported),
compile=False|True, dtype=None|"float64" (float64 for exact comparisons; default
follows the initial parameters). Unknown options are ignored. Under torchrun the backend
joins the process group and trains with DistributedDataParallel; see
backends/torch/distributed.py for the commands and the sharding rule.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from ...errors import DataError, SpecError
from ...ir import Program
from . import distributed as dist_env
from .losses import dense_target, is_fused, make_loss
from .model import build_model
from .optim import flat_state, load_flat_state, make_optimizer

RULES = ("perceptron", "adaline")  # optimizers whose "gradient" is the rule's error signal

# Keep data on the GPU only while it takes at most this share of the free memory.
DEVICE_DATA_FRACTION = 0.5


def resolve_device(device: str = "auto") -> torch.device:
    """"auto" -> CUDA when available (this rank's GPU under torchrun), else CPU."""
    name = str(device or "auto")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and dist_env.is_distributed():
        name = f"cuda:{dist_env.local_rank()}"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SpecError(f"unknown device {device!r}", hint="use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SpecError(f"device {device!r} requested but no CUDA GPU is visible", hint="use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SpecError(f"device {device!r} does not exist ({torch.cuda.device_count()} GPU(s) visible)")
    elif dev.type != "cpu":
        raise SpecError(f"unsupported device {device!r}", hint="use auto, cpu, cuda or cuda:N")
    return dev


class _Parts(torch.nn.Module):
    """Adapter so DDP / torch.compile wrap forward_parts (the loss needs the logits)."""

    def __init__(self, model, last: bool = True):
        super().__init__()
        self.model, self.last = model, last

    def forward(self, x):
        return self.model.forward_parts(x, self.last)


class TorchBackend:
    name = "torch"

    def __init__(self, program: Program, params: dict[str, np.ndarray], *, seed: int,
                 device: str = "auto", amp=False, compile: bool = False, dtype=None, **options):
        self.program = program
        self.device = resolve_device(device)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)  # NCCL and the default stream follow it
        self.world, self.rank = 1, 0
        if dist_env.is_distributed():
            dist_env.init_process_group(self.device)
            import torch.distributed as dist
            self.world, self.rank = dist.get_world_size(), dist.get_rank()
        torch.manual_seed(int(seed) + self.rank)  # dropout masks (not shared with NumPy)

        # float64 on request (or float64 initial params): gradient checks and exact cross-backend tests.
        if dtype is None:
            wide = any(np.asarray(v).dtype == np.float64 for v in params.values())
        else:
            wide = dtype == torch.float64 if isinstance(dtype, torch.dtype) else np.dtype(dtype) == np.float64
        self.dtype = torch.float64 if wide else torch.float32
        self.model = build_model(program, params).to(self.device, self.dtype)
        if wide:
            self.model.load_canonical(params)  # again, without the float32 round trip
        layers = program.model.layers
        train = program.train
        self.loss = make_loss(train.loss, layers[-1] if layers else None) if train else None

        # Trainable parameters in canonical order; the decaying subset for l2 / weight_decay.
        decay = {key for key, _l, p in program.all_params() if p.trainable and p.decay}
        named = [(k, p) for k, p in self.model.named_parameters()]
        self.param_names = [k for k, _ in named]
        self.params = [p for _, p in named]
        self.decay_params = [p for k, p in named if k in decay]
        # The classic single-layer rules train their one dense layer on an error signal.
        self.rule = train.optimizer.name if train and train.optimizer.name in RULES else None
        if self.rule is not None:
            dense = [L.name for L in program.all_layers() if L.op == "dense"]
            if len(dense) != 1:
                raise SpecError(f"the {self.rule} rule needs exactly one dense layer", train.optimizer.pos)
            self.rule_dense = dense[0]
            if self.world > 1:  # its surrogate bypasses DDP's gradient all-reduce
                raise SpecError(f"the {self.rule} rule trains in one process; run it without torchrun",
                                train.optimizer.pos)
        self.opt = make_optimizer(train.optimizer, self.params, self.device) if train and self.params else None

        self.amp_dtype = self._amp_dtype(amp)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None

        # Training forward: logits only when the loss is fused. Plain eager single-process
        # training calls the model directly (one module call less per step).
        need_out = not (train and layers and is_fused(train.loss, layers[-1]))
        net = _Parts(self.model, need_out)
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP
            net = DDP(net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if compile:
            net = torch.compile(net)
        self.train_net = net if (compile or self.world > 1) else (lambda x: self.model.forward_parts(x, need_out))
        self.eval_net = torch.compile(_Parts(self.model)) if compile else self.model.forward_parts
        self._training_mode = True
        self._check_finite = self.device.type == "cpu"  # see train_step

        self._x: dict[str, torch.Tensor] = {}
        self._y: dict[str, torch.Tensor | None] = {}
        self._order: torch.Tensor | None = None
        self._gather: dict[str, torch.Tensor] = {}  # batch buffers (see _batch)
        self._last: tuple[int, int] | None = None
        self._nonfinite: str | None = None

    # -- setup ---------------------------------------------------------------------------
    def _amp_dtype(self, amp):
        if not amp or self.device.type != "cuda":
            return None
        if amp == "fp16":
            return torch.float16
        if amp == "bf16" or torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16

    def _wide(self, t):
        """Autocast outputs (bf16/fp16) back to the model dtype before losses and numbers leave."""
        return t if t is None or t.dtype == self.dtype else t.to(self.dtype)

    def _loss(self, h, out, y):
        return self.loss(self._wide(h), self._wide(out), y)

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    def _mode(self, training: bool) -> None:
        """model.train()/eval() walk every module: only do it when the mode changes."""
        if self._training_mode != training:
            self.model.train(training)
            self._training_mode = training

    def is_main_process(self) -> bool:
        """Only rank 0 writes the run directory and prints."""
        return self.rank == 0

    def _data_device(self, nbytes: int) -> torch.device:
        if self.device.type != "cuda":
            return self.device
        free, _total = torch.cuda.mem_get_info(self.device)
        return self.device if nbytes <= DEVICE_DATA_FRACTION * free else torch.device("cpu")

    def _check_targets(self, split: str, y: np.ndarray) -> None:
        """Class indices out of range would be an opaque device assert on CUDA: check once here."""
        out = self.program.model.output_shape
        if y.size and np.issubdtype(y.dtype, np.integer) and y.ndim == 1 and len(out) >= 1:
            classes = max(int(out[0]), 2)
            if y.min() < 0 or y.max() >= classes:
                raise DataError(f"{split} targets hold class index {int(y.min() if y.min() < 0 else y.max())}, "
                                f"outside [0, {classes}) for a model with {out[0]} output unit(s)")

    def put_data(self, split: str, x: np.ndarray, y: np.ndarray | None) -> None:
        if y is not None:
            self._check_targets(split, y)
            if np.issubdtype(y.dtype, np.integer):
                y = y.astype(np.int64, copy=False)
        nbytes = x.nbytes + (y.nbytes if y is not None else 0)
        where = self._data_device(nbytes)
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(self.dtype)
        yt = torch.from_numpy(np.ascontiguousarray(y)) if y is not None else None
        if yt is not None and yt.is_floating_point():
            yt = yt.to(self.dtype)
        if where.type == "cpu" and self.device.type == "cuda":
            xt = xt.pin_memory()
            yt = yt.pin_memory() if yt is not None else None
        self._x[split] = xt.to(where)
        self._y[split] = yt.to(where) if yt is not None else None

    def set_order(self, order: np.ndarray) -> None:
        """Upload the epoch's permutation once; train_step slices it where the data lives."""
        self._order = torch.as_tensor(np.asarray(order, dtype=np.int64), device=self._x["train"].device)

    # -- training ------------------------------------------------------------------------
    def _batch(self, split: str, idx):
        """Gather train[idx] into buffers reused every step (no allocation per batch).

        Safe because each step's backward finishes before the next gather; not used when
        the data lives off the device (an async copy may still read the pinned buffer).
        """
        xs, ys = self._x[split], self._y[split]
        n = idx.shape[0]
        if xs.device != self.device:
            x = xs.index_select(0, idx).to(self.device, non_blocking=True)
            y = x if ys is None else ys.index_select(0, idx).to(self.device, non_blocking=True)
            return x, y
        bx = self._gather.get("x")
        if bx is None or bx.shape[0] < n or bx.shape[1:] != xs.shape[1:]:
            bx = self._gather["x"] = torch.empty((n, *xs.shape[1:]), dtype=xs.dtype, device=xs.device)
        x = torch.index_select(xs, 0, idx, out=bx[:n])
        if ys is None:  # no target: autoencoder (target = input)
            return x, x
        by = self._gather.get("y")
        if by is None or by.shape[0] < n or by.shape[1:] != ys.shape[1:] or by.dtype != ys.dtype:
            by = self._gather["y"] = torch.empty((n, *ys.shape[1:]), dtype=ys.dtype, device=ys.device)
        return x, torch.index_select(ys, 0, idx, out=by[:n])

    def _slice(self, split: str, lo: int, hi: int):
        """A contiguous range of a split (evaluation): views, no gather."""
        x, y = self._x[split][lo:hi], self._y[split]
        y = x if y is None else y[lo:hi]
        if x.device != self.device:
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        return x, y

    def train_step(self, start: int, stop: int, lr: float, step: int):
        """One optimizer step on train[order[start:stop]]; returns the detached loss tensor."""
        lo, hi = (start, stop) if self.world == 1 else dist_env.shard(start, stop, self.rank, self.world)
        self._last = (lo, hi)
        x, y = self._batch("train", self._order[lo:hi])
        if self.opt is None:  # nothing to train (no trainable parameters): report the loss only
            with torch.no_grad():
                h, out = self.model.forward_parts(x)
                return self._loss(h, out, y).detach()
        for group in self.opt.param_groups:
            group["lr"] = lr

        # forward / backward (per-rank loss scaled so DDP's average is the global-batch mean)
        self._mode(True)
        objective = None  # what is differentiated, when it is not the reported loss
        if self.rule is not None:
            loss, objective = self._rule_losses(x, y)
        else:
            with self._autocast():
                h, out = self.train_net(x)
            if hi > lo:
                loss = self._loss(h, out, y)
            else:  # this rank got no samples of a tiny last batch: join the all-reduce with zeros
                loss = h.sum() * 0.0
        if self.world > 1:
            scale = dist_env.loss_scale(hi - lo, stop - start, self.world)
            loss = loss * scale
            objective = objective * scale if objective is not None else None
        if self._check_finite and not math.isfinite(loss.item()):
            # On CPU the check costs no device sync: diagnose before the update spreads
            # NaN into every weight (as the NumPy backend does). On CUDA nonfinite_layer
            # recomputes later, from the weights as they are then.
            self._nonfinite = self._diagnose(x, y)
        for p in self.params:  # = opt.zero_grad(set_to_none=True), without its per-call overhead
            p.grad = None
        objective = loss if objective is None else objective
        if self.scaler is not None:
            self.scaler.scale(objective).backward()
            self.scaler.unscale_(self.opt)
        else:
            objective.backward()

        self._regularize_and_clip()

        # optimizer update with this step's learning rate
        if self.scaler is not None:
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            self.opt.step()

        handle = loss.detach()
        if self.world > 1:  # report the global-batch mean (stream-ordered on NCCL, no host sync)
            import torch.distributed as dist
            dist.all_reduce(handle)
            handle = handle / self.world
        return handle

    def _rule_losses(self, x, y):
        """perceptron / adaline (as the NumPy backend): (reported data loss, surrogate).

        The rule's update is w -= lr e^T x_in with e = (signal - y) / N for the one dense
        layer (signal: the model output for the perceptron, the dense output z for
        adaline). sum(z * e.detach()) has exactly that gradient (and e for the bias).
        """
        seen = {}
        out = self.model.run_visiting(x, lambda name, v: seen.__setitem__(name, v))
        top = [name for name, _ in self.model.plan]
        h = seen[top[-2]] if len(top) > 1 else x
        z = seen[self.rule_dense]
        signal = out if self.rule == "perceptron" else z
        e = (signal - dense_target(y, signal)).detach() * (1.0 / x.shape[0])
        return self._loss(h, out, y), (z * e).sum()

    def _regularize_and_clip(self):
        """ARCHITECTURE.md update order: + l2*w -> clip global norm -> w *= (1 - weight_decay)."""
        train = self.program.train
        if train.l2:
            pairs = [(p.grad, p) for p in self.decay_params if p.grad is not None]
            if pairs:
                grads, ws = zip(*pairs)
                torch._foreach_add_(list(grads), list(ws), alpha=float(train.l2))
        if train.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, float(train.clip_norm))
        if train.weight_decay and self.decay_params:
            with torch.no_grad():
                torch._foreach_mul_(self.decay_params, 1.0 - float(train.weight_decay))

    def losses_to_numpy(self, handles: list) -> np.ndarray:
        if not handles:
            return np.zeros(0, np.float64)
        return torch.stack([h.double() for h in handles]).cpu().numpy()

    # -- inference -----------------------------------------------------------------------
    def _batches(self, n: int, batch_size: int):
        batch_size = max(int(batch_size), 1)
        for i in range(0, n, batch_size):
            yield i, min(i + batch_size, n)

    @torch.no_grad()
    def evaluate(self, split: str, batch_size: int) -> tuple[float, np.ndarray]:
        """Mean data loss over the split (eval mode) and the outputs."""
        n = self._x[split].shape[0]
        self._mode(False)
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        outs = []
        for lo, hi in self._batches(n, batch_size):
            x, y = self._slice(split, lo, hi)
            with self._autocast():
                h, out = self.eval_net(x)
            h, out = self._wide(h), self._wide(out)
            if self.loss is not None:
                total += self.loss(h, out, y).double() * (hi - lo)
            outs.append(out)
        outputs = torch.cat(outs).to('cpu', torch.float32).numpy() if outs else np.zeros((0, *self.program.model.output_shape), np.float32)
        loss = float(total.item() / n) if (n and self.loss is not None) else float("nan")
        return loss, outputs

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        self._mode(False)
        outs = []
        for lo, hi in self._batches(len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[lo:hi])).to(self.device, self.dtype)
            with self._autocast():
                outs.append(self._wide(self.eval_net(xb)[1]))
        return torch.cat(outs).to('cpu', torch.float32).numpy() if outs else np.zeros((0, *self.program.model.output_shape), np.float32)

    # -- state ---------------------------------------------------------------------------
    def get_params(self) -> dict[str, np.ndarray]:
        return self.model.canonical()

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        self.model.load_canonical(params)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return flat_state(self.opt, self.param_names) if self.opt is not None else {}

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        if self.opt is not None:
            load_flat_state(self.opt, self.param_names, state)

    # -- diagnostics ---------------------------------------------------------------------
    def nonfinite_layer(self) -> str | None:
        """First layer whose output, else whose gradient, is not finite on the last batch.

        On CPU this was found before the bad update (train_step); on CUDA the batch is
        recomputed with the current weights.
        """
        if self._nonfinite is not None or self._last is None:
            return self._nonfinite
        return self._diagnose(*self._batch("train", self._order[self._last[0]:self._last[1]]))

    def _diagnose(self, x, y) -> str | None:
        """Recompute one batch layer by layer; batchnorm running statistics are restored
        afterwards and gradients cleared (the recompute is not a step)."""
        buffers = {k: b.clone() for k, b in self.model.named_buffers()}
        first: list[str] = []

        def visit(name, value):
            if not first and not torch.isfinite(value).all():
                first.append(name)

        try:
            self._mode(True)
            with torch.no_grad():
                self.model.run_visiting(x, visit)
            if first:
                return first[0]
            with torch.enable_grad():
                h, out = self.model.forward_parts(x)
                grads = torch.autograd.grad(self._loss(h, out, y), self.params, allow_unused=True)
            bad = {n for n, g in zip(self.param_names, grads) if g is not None and not torch.isfinite(g).all()}
            for name in reversed(self.model.layer_names()):  # backward order, like the NumPy backend
                if any(k.split(".", 1)[0] == name for k in bad):
                    return name
            return None
        finally:
            with torch.no_grad():
                for k, b in self.model.named_buffers():
                    b.copy_(buffers[k])
