"""TorchBackend: the driver's Backend interface (docs/ARCHITECTURE.md) on PyTorch.

Speed rules that shape this file:
* Data that fits stays on the device (put_data); every epoch the driver's batch
  order is uploaded once (set_order) and batches are gathered on the device by
  slicing it, so there is no host-to-device copy per batch.
  Batches are gathered into buffers reused every step. Data that does not fit
  stays in pinned host memory and is staged asynchronously (staging.py).
  Data larger than memory (a streamed split, specc/data/stream.py) stays on disk:
  a background thread reads the next batches ahead of the step (prefetch.py): on
  CUDA into pinned memory, on a CPU (when a core is spare) a chunk of steps at a time.
* No per-step host sync on CUDA: train_step returns the detached loss tensor and
  losses_to_numpy stacks many of them and syncs once. (On CPU, where reading a
  scalar is free, a non-finite loss is diagnosed before the update, as in NumPy.)
* Training stops at the logits when the loss is fused (no softmax thrown away).
* Fused optimizers on CUDA, foreach elsewhere; optional autocast (`amp`) and
  torch.compile (`compile`).

Options: device="auto"|"cpu"|"cuda"|"cuda:N" (auto = CUDA when present),
amp=False|True|"bf16"|"fp16" (CUDA only; True = bf16 where supported),
compile=False|True, dtype=None|"float64" (float64 for exact comparisons; default
follows the initial parameters), fast_math=False|True (CUDA: TF32 and non-deterministic
kernels; the default is IEEE float32 and deterministic, see numerics.py),
prefetch=None|True|False (streamed data: read batches in a background thread; default
on CUDA, where the host prepares while the GPU computes; on a CPU device tried when the
process may use more cores than torch's threads, and kept if it makes the steps
faster: data.stream.reads_ahead). Unknown options
are ignored. Under torchrun the backend
joins the process group and trains with DistributedDataParallel; see
backends/torch/distributed.py for the commands and the sharding rule.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from ...batches import micro_batches
from ...data.stream import EpochReads, is_streamed, reads_ahead
from ...memory import keep_freed_memory
from ...errors import SpecError
from ...ir import Program
from ...transfer import frozen_keys
from . import distributed as dist_env
from . import numerics
from .losses import dense_target, make_loss, position_weight
from .model import build_model
from .optim import flat_state, load_flat_state, make_optimizer
from .prefetch import Prefetcher
from .staging import PinnedStaging

RULES = ("perceptron", "adaline")  # optimizers whose "gradient" is the rule's error signal

# The fp16 GradScaler's state in the flat optimizer state (see optimizer_state).
SCALER_KEYS = ("grad_scaler.scale", "grad_scaler.growth_tracker")

# Keep data on the GPU only while it takes at most this share of the free memory.
DEVICE_DATA_FRACTION = 0.5


def choose_device(requested, *, cuda: bool, count: int, current: int, local_rank: int | None) -> str:
    """The device a run uses, as "cpu" or "cuda:N" (always with an index).

    Pure, so it is tested without a GPU. `local_rank` is None outside torchrun.
    A bare "cuda" means the current GPU (torch.cuda.set_device needs an index);
    under torchrun every rank takes the GPU of its LOCAL_RANK, and an explicit
    index is refused: it would put every rank on one GPU (NCCL: "Duplicate GPU").
    """
    name = str(requested or "auto")
    if name == "auto":
        name = "cuda" if cuda else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise SpecError(f"unknown device {requested!r}", hint="use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cpu":
        return "cpu"
    if dev.type != "cuda":
        raise SpecError(f"unsupported device {requested!r}", hint="use auto, cpu, cuda or cuda:N")
    if not cuda:
        raise SpecError(f"device {requested!r} requested but no CUDA GPU is visible", hint="use --device cpu")
    if local_rank is not None:
        if dev.index is not None:
            raise SpecError(f"device {requested!r} names one GPU, but under torchrun every rank would use it",
                            hint="use --device cuda: each rank takes the GPU of its LOCAL_RANK")
        index = local_rank
    else:
        index = current if dev.index is None else dev.index
    if index >= count:
        raise SpecError(f"device cuda:{index} does not exist ({count} GPU(s) visible)",
                        hint="under torchrun, start at most as many processes per node as there are GPUs"
                        if local_rank is not None else "use cuda:0 .. cuda:N-1, or cuda")
    return f"cuda:{index}"


def resolve_device(device: str = "auto") -> torch.device:
    """"auto" -> CUDA when available (this rank's GPU under torchrun), else CPU; see choose_device."""
    cuda = torch.cuda.is_available()
    name = choose_device(device, cuda=cuda, count=torch.cuda.device_count() if cuda else 0,
                         current=torch.cuda.current_device() if cuda else 0,
                         local_rank=dist_env.local_rank() if dist_env.is_distributed() else None)
    return torch.device(name)


def _zero_loss(hs, outs):
    """0 * everything the forward returned, so every parameter gets a (zero) gradient.

    A parameter left without one (e.g. a last layer the losses' inputs do not reach)
    makes DDP skip its bucket on this rank only, and the ranks' all-reduces no longer match.
    """
    return sum(t.sum() for t in [*hs, *(outs or ())]) * 0.0


def _target_array(t) -> np.ndarray:
    """Targets in memory: class indices as int64, values as they are."""
    t = np.asarray(t)
    return t.astype(np.int64, copy=False) if np.issubdtype(t.dtype, np.integer) else t


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
                 device: str = "auto", amp=False, compile: bool = False, dtype=None, fast_math: bool = False,
                 prefetch: bool | None = None, **options):
        self.program = program
        self.device = resolve_device(device)
        self.numerics = numerics.configure(self.device, bool(fast_math))  # IEEE fp32, deterministic (CUDA)
        keep_freed_memory()  # CPU tensors' memory reused from step to step (char GPT on CPU: ~34 -> ~29 ms a step)
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
        train = program.train
        self.loss = make_loss(program) if train else None

        # Trainable parameters in canonical order; the decaying subset for l2 / weight_decay.
        decay = {key for key, _l, p in program.all_params() if p.trainable and p.decay}
        frozen = frozen_keys(program)  # train.freeze: no gradient, no update, no decay, no optimizer state
        for k, p in self.model.named_parameters():
            if k in frozen:
                p.requires_grad_(False)
        named = [(k, p) for k, p in self.model.named_parameters() if k not in frozen]
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
        if self.opt is not None and train.weight_decay and self.decay_params:
            self.opt.register_step_pre_hook(self._decay_weights)

        # Training forward: only what the losses read (the logits of a fused output activation).
        # Plain eager single-process training calls the model directly (one module call less per step).
        need_out = train is None
        net = _Parts(self.model, need_out)
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            from .syncbn import synchronize
            # Batch statistics over the global batch keep the running statistics identical on
            # every rank, so DDP need not broadcast rank 0's buffers before each forward.
            synchronize(self.model)
            net = DDP(net, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                      forward_sync_buffers=False)
        self._ddp = net if self.world > 1 else None  # its no_sync() skips the all-reduce of micro-batches
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
        self._staging: PinnedStaging | None = None  # for data kept in host memory on CUDA
        self._streamed: dict[str, tuple[list, list | None]] = {}  # split -> (StreamedArrays, targets), on disk
        self._order_host: np.ndarray | None = None
        cuda = self.device.type == "cuda"  # CUDA: batches ahead into pinned memory; CPU: chunks ahead
        self._prefetch = Prefetcher(self._prepare_streamed, threaded=cuda and prefetch is not False)
        self._reads = EpochReads(not cuda and reads_ahead(prefetch, torch.get_num_threads()))  # streamed training
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
        if isinstance(t, (list, tuple)):
            return [self._wide(v) for v in t]
        return t if t is None or t.dtype == self.dtype else t.to(self.dtype)

    def _loss(self, hs, outs, ys, xs=None):
        """The loss; xs (the batch's inputs) give the outputs' padding masks for per-position targets."""
        masks = None if xs is None else self.model.output_masks(xs)
        return self.loss(self._wide(hs), self._wide(outs), ys, masks)

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

    # -- decisions every rank must take together (the driver calls these when world > 1) ---
    def agree(self, flag: bool) -> bool:
        """True on every rank when true on any (stop signals, early stopping)."""
        return dist_env.agree(flag) if self.world > 1 else bool(flag)

    def all_mean(self, value: float) -> float:
        """The mean over the ranks, so a monitored value is the same number everywhere."""
        return dist_env.all_mean(value) if self.world > 1 else float(value)

    def finished(self) -> None:
        """The run ended normally: at exit the ranks leave the process group together."""
        if self.world > 1:
            dist_env.finished()

    def _data_device(self, nbytes: int) -> torch.device:
        if self.device.type != "cuda":
            return self.device
        free, _total = torch.cuda.mem_get_info(self.device)
        return self.device if nbytes <= DEVICE_DATA_FRACTION * free else torch.device("cpu")

    def _tensor(self, a: np.ndarray, where, floating: bool) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(a))
        if floating and t.is_floating_point() or floating and not np.issubdtype(a.dtype, np.integer):
            t = t.to(self.dtype)
        if where.type == "cpu" and self.device.type == "cuda":
            t = t.pin_memory()
        return t.to(where)

    def put_data(self, split: str, x, y) -> None:
        """x: one array per model input (or the array of the only one); y likewise per output, or None."""
        model = self.program.model
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        ys = None if y is None else (list(y) if isinstance(y, (list, tuple)) else [y])
        if ys is not None:  # class indices were range-checked by the data loader (specc/data/targets.py)
            ys = [t if is_streamed(t) else _target_array(t) for t in ys]  # streamed: an autoencoder's input
        if any(is_streamed(a) for a in xs):  # read a batch at a time, in a background thread (_prepare_streamed)
            self._streamed[split] = (xs, ys)
            self._x.pop(split, None)
            self._y.pop(split, None)
            self._prefetch.reset()
            self._reads.reset()
            return
        self._streamed.pop(split, None)
        nbytes = sum(a.nbytes for a in xs) + sum(t.nbytes for t in ys or ())
        where = self._data_device(nbytes)
        self._x[split] = [self._tensor(a, where, i.dtype != "int") for a, i in zip(xs, model.inputs)]
        self._y[split] = None if ys is None else [self._tensor(t, where, True) for t in ys]

    def set_order(self, order: np.ndarray) -> None:
        """Upload the epoch's permutation once; train_step slices it where the data lives."""
        self._order_host = np.asarray(order, dtype=np.int64)
        if "train" in self._streamed:  # batches are gathered on the host; drop those of the previous order
            self._prefetch.reset()
            self._reads.reset()
            return
        self._order = torch.as_tensor(self._order_host, device=self._x["train"][0].device)

    # -- training ------------------------------------------------------------------------
    def _batch(self, split: str, idx):
        """Gather split[idx] (every input and target) into buffers reused every step (no allocation per batch).

        Safe because each step's backward finishes before the next gather. Data that
        lives off the device goes through pinned staging buffers (staging.py).
        """
        xs, ys = self._x[split], self._y[split]
        if xs[0].device != self.device:
            if self._staging is None:
                self._staging = PinnedStaging(self.device)
            return self._staging.batch(xs, ys, idx)
        x = [self._gather_one(f"x{k}", t, idx) for k, t in enumerate(xs)]
        if ys is None:  # no target: autoencoder (target = input)
            return x, x
        return x, [self._gather_one(f"y{k}", t, idx) for k, t in enumerate(ys)]

    def _gather_one(self, key: str, t: torch.Tensor, idx) -> torch.Tensor:
        n = idx.shape[0]
        buf = self._gather.get(key)
        if buf is None or buf.shape[0] < n or buf.shape[1:] != t.shape[1:] or buf.dtype != t.dtype:
            buf = self._gather[key] = torch.empty((n, *t.shape[1:]), dtype=t.dtype, device=t.device)
        return torch.index_select(t, 0, idx, out=buf[:n])

    def _slice(self, split: str, lo: int, hi: int):
        """A contiguous range of a split (evaluation): views, no gather."""
        if split in self._streamed:
            n, size = self._size(split), hi - lo
            ahead = range(hi, min(n, hi + self._prefetch.depth * size), size)
            return self._to_device(self._prefetch.get((split, lo, hi), [(split, s, min(s + size, n)) for s in ahead]))
        x = [t[lo:hi].to(self.device, non_blocking=True) for t in self._x[split]]
        ys = self._y[split]
        return x, (x if ys is None else [t[lo:hi].to(self.device, non_blocking=True) for t in ys])

    # -- streamed data (specc/data/stream.py): batches read from disk ahead of the step -----
    def _size(self, split: str) -> int:
        return len(self._streamed[split][0][0]) if split in self._streamed else self._x[split][0].shape[0]

    def _prepare_streamed(self, key):
        """(inputs, targets) of a streamed split as host tensors (pinned for CUDA); runs in the prefetch thread.
        key: ("order", lo, hi), a training batch train[order[lo:hi]] (a view of a chunk of the epoch's
        batches, OrderedChunks), or (split, lo, hi), rows in file order (evaluation)."""
        split, lo, hi = key
        inputs = self.program.model.inputs
        if split == "order":
            xs, ys = self._streamed["train"]
            arrays = self._train_chunks().read(lo, hi)
            x, y = arrays[:len(xs)], (None if ys is None else arrays[len(xs):])
        else:
            xs, ys = self._streamed[split]
            x, y = [a[lo:hi] for a in xs], (None if ys is None else [t[lo:hi] for t in ys])
        x = [self._host(a, i.dtype != "int") for a, i in zip(x, inputs)]
        return x, (None if y is None else [self._host(t, True) for t in y])

    @property
    def data_wait_s(self) -> float:
        """Seconds the training thread has waited for streamed batches its background thread had not finished."""
        return self._prefetch.waited + self._reads.waited

    def _train_chunks(self):
        """The epoch's training batches, read a chunk of consecutive batches at a time; under DDP each
        rank reads only its own rows (a batch at a time: the ranks' rows interleave)."""
        xs, ys = self._streamed["train"]
        batch = self.program.train.step_batch if self.world == 1 else 0  # 0: no chunks
        return self._reads.epoch([*xs, *(ys or ())], self._order_host, batch)

    def _host(self, a: np.ndarray, floating: bool) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(a))
        if floating and (t.is_floating_point() or not np.issubdtype(a.dtype, np.integer)):
            t = t.to(self.dtype)
        return t.pin_memory() if self.device.type == "cuda" else t

    def _to_device(self, batch):
        if self.device.type == "cpu":
            return batch[0], (batch[0] if batch[1] is None else batch[1])
        x = [t.to(self.device, non_blocking=True) for t in batch[0]]
        return x, (x if batch[1] is None else [t.to(self.device, non_blocking=True) for t in batch[1]])

    def _train_batch(self, lo: int, hi: int, start: int | None = None, stop: int | None = None):
        """train[order[lo:hi]] on the device; a streamed split also queues the next batches of this epoch."""
        if "train" not in self._streamed:
            return self._batch("train", self._order[lo:hi])
        upcoming = []
        if stop is not None:
            n, batch = self._size("train"), self.program.train.step_batch  # samples per optimizer step
            for s in range(stop, min(n, stop + self._prefetch.depth * batch), batch):
                e = min(s + batch, n)
                upcoming.append(("order", *((s, e) if self.world == 1 else dist_env.shard(s, e, self.rank, self.world))))
        return self._to_device(self._prefetch.get(("order", lo, hi), upcoming))

    def train_step(self, start: int, stop: int, lr: float, step: int):
        """One optimizer step on train[order[start:stop]]; returns the detached loss tensor."""
        lo, hi = (start, stop) if self.world == 1 else dist_env.shard(start, stop, self.rank, self.world)
        self._last = (lo, hi)
        x, y = self._train_batch(lo, hi, start, stop)
        if self.opt is None:  # nothing to train (no trainable parameters): report the loss only
            with torch.no_grad():
                hs, outs = self.model.forward_parts(x)
                return self._loss(hs, outs, y, x).detach()
        for group in self.opt.param_groups:
            group["lr"] = lr

        # forward / backward (per-rank loss scaled so DDP's average is the global-batch mean); with
        # `accumulate` = k, k micro-batches each weighted n_i / n, gradients summed before the update
        self._mode(True)
        for p in self.params:  # = opt.zero_grad(set_to_none=True), without its per-call overhead
            p.grad = None
        parts = micro_batches(0, hi - lo, self.program.train.accumulate)
        world_scale = dist_env.loss_scale(hi - lo, stop - start, self.world) if self.world > 1 else 1.0
        loss = None
        for i, (a, b) in enumerate(parts):
            xi, yi = (x, y) if len(parts) == 1 else ([t[a:b] for t in x], [t[a:b] for t in y])
            last = i == len(parts) - 1
            # DDP all-reduces the gradients once, in the last micro-batch's backward (no_sync must
            # cover the forward too: DDP decides in the forward whether the backward syncs)
            with contextlib.nullcontext() if last or self._ddp is None else self._ddp.no_sync():
                part, objective = self._forward_loss(xi, yi, b > a)
                scale = world_scale * ((b - a) / (hi - lo) if len(parts) > 1 else 1.0)
                if scale != 1.0:
                    part = part * scale
                    objective = objective * scale if objective is not None else None
                objective = part if objective is None else objective
                if self.scaler is not None:
                    self.scaler.scale(objective).backward()
                else:
                    objective.backward()
            loss = part.detach() if loss is None else loss + part.detach()
        if self._check_finite and not math.isfinite(loss.item()):
            # On CPU the check costs no device sync: diagnose before the update spreads
            # NaN into every weight (as the NumPy backend does). On CUDA nonfinite_layer
            # recomputes later, from the weights as they are then.
            self._nonfinite = self._diagnose(x, y)
        if self.scaler is not None:
            self.scaler.unscale_(self.opt)

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

    def _forward_loss(self, x, y, has_samples: bool):
        """(reported loss, what is differentiated when that differs: a rule's surrogate, or None)."""
        if self.rule is not None:
            return self._rule_losses(x, y)
        with self._autocast():
            hs, outs = self.train_net(x)
        if has_samples:
            return self._loss(hs, outs, y, x), None
        return _zero_loss(hs, outs), None  # this rank got no samples of a tiny last batch: join with zeros

    def _rule_losses(self, x, y):
        """perceptron / adaline (as the NumPy backend): (reported data loss, surrogate).

        The rule's update is w -= lr e^T x_in with e = (signal - y) / N for the one dense
        layer (signal: the model output for the perceptron, the dense output z for
        adaline). sum(z * e.detach()) has exactly that gradient (and e for the bias).
        """
        seen = dict(zip(self.model.input_names, x))
        outs = self.model.run_visiting(x, lambda name, v: seen.__setitem__(name, v))
        hs = [seen[v] for v in self.model.loss_values]
        z = seen[self.rule_dense]
        signal = outs[0] if self.rule == "perceptron" else z
        e = (signal - dense_target(y[0], signal)).detach() * (1.0 / x[0].shape[0])
        return self._loss(hs, outs, y, x), (z * e).sum()

    def _regularize_and_clip(self):
        """ARCHITECTURE.md update order: + l2*w -> clip global norm -> w *= (1 - weight_decay)
        (the last in _decay_weights)."""
        train = self.program.train
        if train.l2:
            pairs = [(p.grad, p) for p in self.decay_params if p.grad is not None]
            if pairs:
                grads, ws = zip(*pairs)
                torch._foreach_add_(list(grads), list(ws), alpha=float(train.l2))
        if train.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, float(train.clip_norm))

    def _decay_weights(self, opt, _args, _kwargs):
        """w *= (1 - weight_decay), just before the update (an optimizer step pre-hook).

        Inside the step, so it is skipped with the step when GradScaler finds inf/NaN
        gradients. A fused optimizer is called even then, with `found_inf` (1.0 on a
        step to skip) set on it: the factor becomes 1 without reading it on the host.
        """
        decay = float(self.program.train.weight_decay)
        found_inf = getattr(opt, "found_inf", None)
        with torch.no_grad():
            if found_inf is None:
                torch._foreach_mul_(self.decay_params, 1.0 - decay)
            else:
                torch._foreach_mul_(self.decay_params, 1.0 - decay * (1.0 - found_inf))

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
    def evaluate(self, split: str, batch_size: int):
        """Mean data loss over the split (eval mode) and the outputs (one array per output)."""
        n = self._size(split)
        self._mode(False)
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        count = torch.zeros((), dtype=torch.float64, device=self.device)
        outs = []
        for lo, hi in self._batches(n, batch_size):
            x, y = self._slice(split, lo, hi)
            with self._autocast():
                hs, out = self.eval_net(x)
            hs, out = self._wide(hs), self._wide(out)
            if self.loss is not None:
                masks = self.model.output_masks(x)
                weight = position_weight(y, hi - lo, len(self.program.model.outputs), masks[0] if masks else None)
                total += self.loss(hs, out, y, masks).double() * weight
                count += weight
            outs.append(out)
        loss = float((total / count).item()) if (n and self.loss is not None) else float("nan")
        return loss, self._join(outs)

    def _join(self, outs: list):
        """Per-batch output lists -> one float32 array per output (a bare array for one output)."""
        model = self.program.model
        joined = [torch.cat([o[k] for o in outs]).to("cpu", torch.float32).numpy() if outs
                  else np.zeros((0, *model.value_shape(out.value)), np.float32)
                  for k, out in enumerate(model.outputs)]
        return joined[0] if len(joined) == 1 else joined

    @torch.no_grad()
    def predict(self, x, batch_size: int):
        self._mode(False)
        model = self.program.model
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        outs = []
        for lo, hi in self._batches(len(xs[0]), batch_size):
            xb = [self._tensor(np.asarray(a[lo:hi]), self.device, i.dtype != "int") for a, i in zip(xs, model.inputs)]
            with self._autocast():
                outs.append(self._wide(self.eval_net(xb)[1]))
        return self._join(outs)

    # -- inspection (specc verify) --------------------------------------------------------
    @torch.no_grad()
    def activations(self, x) -> dict[str, np.ndarray]:
        """{layer name: output} in eval mode for the inputs x (one array per model input)."""
        self._mode(False)
        xs = x if isinstance(x, (list, tuple)) else [x]
        seen: dict[str, np.ndarray] = {}
        inputs = [self._tensor(np.asarray(a), self.device, i.dtype != "int") for a, i in zip(xs, self.program.model.inputs)]
        self.model.run_visiting(inputs, lambda name, v: seen.__setitem__(name, v.to("cpu", torch.float32).numpy().copy()))
        return seen

    def loss_and_grads(self, x, y, training: bool) -> tuple[float, dict[str, np.ndarray]]:
        """(data loss, {canonical key: gradient}) of one batch; no update, running statistics restored."""
        buffers = {k: b.clone() for k, b in self.model.named_buffers()}
        self._mode(training)
        model = self.program.model
        xs = [self._tensor(np.asarray(a), self.device, i.dtype != "int")
              for a, i in zip(x if isinstance(x, (list, tuple)) else [x], model.inputs)]
        ys = [self._tensor(np.asarray(t), self.device, True) for t in (y if isinstance(y, (list, tuple)) else [y])]
        hs, outs = self.model.forward_parts(xs)
        loss = self._loss(hs, outs, ys, xs)
        grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        with torch.no_grad():
            for k, b in self.model.named_buffers():
                b.copy_(buffers[k])
        return float(loss.item()), {k: g.to("cpu", torch.float32).numpy() for k, g in zip(self.param_names, grads)
                                    if g is not None}

    # -- state ---------------------------------------------------------------------------
    def get_params(self) -> dict[str, np.ndarray]:
        return self.model.canonical()

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        self.model.load_canonical(params)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimizer's flat state, plus the fp16 loss scale: a resumed run continues with
        the scale (and growth count) it had, as the uninterrupted run does."""
        state = flat_state(self.opt, self.param_names) if self.opt is not None else {}
        if self.scaler is not None:
            sd = self.scaler.state_dict()
            state[SCALER_KEYS[0]] = np.array(sd["scale"], np.float64)
            state[SCALER_KEYS[1]] = np.array(sd["_growth_tracker"], np.int64)
        return state

    def load_optimizer_state(self, state: dict[str, np.ndarray]) -> None:
        state = dict(state)
        scale, growth = (state.pop(k, None) for k in SCALER_KEYS)
        if self.scaler is not None and scale is not None and growth is not None:
            self.scaler.load_state_dict({**self.scaler.state_dict(), "scale": float(scale),
                                         "_growth_tracker": int(growth)})
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
        return self._diagnose(*self._train_batch(*self._last))

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
                hs, outs = self.model.forward_parts(x)
                grads = torch.autograd.grad(self._loss(hs, outs, y, x), self.params, allow_unused=True)
            bad = {n for n, g in zip(self.param_names, grads) if g is not None and not torch.isfinite(g).all()}
            for name in reversed(self.model.layer_names()):  # backward order, like the NumPy backend
                if any(k.split(".", 1)[0] == name for k in bad):
                    return name
            return None
        finally:
            with torch.no_grad():
                for k, b in self.model.named_buffers():
                    b.copy_(buffers[k])
