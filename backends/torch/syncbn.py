"""Batch normalization over the global batch under DDP (every rank's samples).

Each rank holds a shard of the global batch. Normalizing with the shard's own
statistics would make DDP training differ from single-process training, leave
the ranks with different running statistics (and so different validation
losses), and fail on a rank whose shard holds one sample. So in training mode
the mean and the variance are reduced over all ranks, with the same conventions
as F.batch_norm on the whole batch: biased variance to normalize, unbiased for
running_var. torch.nn.SyncBatchNorm does not apply (the BatchNorm of ops.py is
not a torch _BatchNorm, and its kernels are GPU-only).

The all-reduces are autograd-aware (_SumOverRanks): their backward sums the
gradients of every rank's loss, which with DDP's gradient average is exactly the
gradient of the global-batch mean (see backends/torch/distributed.py).
"""
from __future__ import annotations

import torch
import torch.distributed as dist

from .ops import BatchNorm


class _SumOverRanks(torch.autograd.Function):
    """y = sum over ranks of x; the gradient of x is the sum over ranks of dy (every
    rank's loss depends on y)."""

    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, dy):
        dx = dy.clone()
        dist.all_reduce(dx)
        return dx


def _sum_over_ranks(t: torch.Tensor) -> torch.Tensor:
    return _SumOverRanks.apply(t)


def synced_batch_norm(bn: BatchNorm, x: torch.Tensor) -> torch.Tensor:
    """Training-mode batch norm of x [N, C, ...] with statistics of all ranks' samples.

    Two passes (mean, then the mean square deviation), as a single-process batch norm
    would compute them: sum(x^2) - n mean^2 loses digits in float32.
    """
    dims = [0, *range(2, x.dim())]
    shape = [1, -1, *([1] * (x.dim() - 2))]
    local = x.new_tensor([x.numel() // x.shape[1]])  # this rank's values per channel (0 for an empty shard)
    sums = _sum_over_ranks(torch.cat([x.sum(dims), local]))
    count = sums[-1].detach()
    mean = sums[:-1] / count
    centered = x - mean.view(shape)
    var = _sum_over_ranks((centered * centered).sum(dims)) / count
    y = centered * torch.rsqrt(var + bn.eps).view(shape) * bn.weight.view(shape) + bn.bias.view(shape)
    with torch.no_grad():
        m = bn.momentum
        bn.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
        bn.running_var.mul_(1 - m).add_(var.detach() * (count / (count - 1).clamp(min=1)), alpha=m)
    return y


def synchronize(model: torch.nn.Module) -> int:
    """Make every BatchNorm of `model` use the global batch while training; how many there are."""
    layers = [m for m in model.modules() if isinstance(m, BatchNorm)]
    for m in layers:
        m.sync = synced_batch_norm
    return len(layers)
