"""OP_TABLE: one row per IR op, lowering a resolved `Layer` to a torch module.

Each row is a small builder `layer -> nn.Module`. Parameters are registered
under their canonical short names ("weight", "bias", "running_mean", ...) in
the canonical layout, so the model's state_dict keys are the checkpoint keys.
Semantics follow docs/ARCHITECTURE.md and specc/ops.py exactly; a test checks
every op of specc.ops.OPS has a row here.

Merges (add, multiply, concat) take the list of their inputs; the model
(backends/torch/model.py) runs the graph.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...ops.activations import prelu_axis
from . import recurrent


def _zeros(*shape):
    return nn.Parameter(torch.zeros(*shape))


class Dense(nn.Module):
    """y = x W^T + b with W [out, in] (canonical layout is torch's Linear layout)."""

    def __init__(self, n_in: int, n_out: int, bias: bool):
        super().__init__()
        self.weight = _zeros(n_out, n_in)
        self.bias = _zeros(n_out) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


def _embedding(layer):
    """nn.Embedding itself (weight [vocab, dim]); the weight is loaded from the canonical arrays."""
    vocab, dim = layer.attrs["vocab"], layer.attrs["dim"]
    return nn.Embedding(vocab, dim, _weight=torch.zeros(vocab, dim))


class PosEmbedding(nn.Module):
    """x + W[:T]: a learned row per position, W [max_len, D]."""

    def __init__(self, max_len: int, dim: int):
        super().__init__()
        self.weight = _zeros(max_len, dim)

    def forward(self, x):
        return x + self.weight[: x.shape[1]]


def _linear(d: int) -> nn.Linear:
    """nn.Linear(d, d) with zero parameters (loaded from the canonical arrays; no draw from torch's RNG)."""
    layer = nn.Linear(d, d, device="meta")
    layer.weight, layer.bias = _zeros(d, d), _zeros(d)
    return layer


class Attention(nn.Module):
    """Multi-head self-attention with F.scaled_dot_product_attention; q, k, v, o are nn.Linear (x Wᵀ + b).

    The mask allows query i to see key j when j is not padding (and j <= i if causal). A query
    with no key to see (a sequence that is all padding) outputs zeros: SDPA is given a mask that
    lets such rows see every key (no NaN), and their output is zeroed after the projection.
    """

    def __init__(self, d: int, heads: int, causal: bool, dropout: float):
        super().__init__()
        self.q, self.k, self.v, self.o = (_linear(d) for _ in range(4))
        self.heads, self.causal, self.dropout = heads, causal, float(dropout)

    def forward(self, x, mask=None):
        n, t, d = x.shape
        split = lambda a: a.view(n, t, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731  [N, H, T, d]
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        p = self.dropout if self.training else 0.0
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=self.causal)
            return self.o(y.transpose(1, 2).reshape(n, t, d))
        allowed = mask[:, None, None, :]                                         # [N, 1, 1, T]
        if self.causal:
            allowed = allowed & torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        allowed = allowed.expand(n, 1, t, t)
        has = allowed.any(-1, keepdim=True)                                      # [N, 1, T, 1]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed | ~has, dropout_p=p)
        return self.o(y.transpose(1, 2).reshape(n, t, d)) * has[:, 0].to(x.dtype)


class LastStep(nn.Module):
    """x[n, lengths[n] - 1] (right padding), position T - 1 without a mask, 0 for an all-padding sequence."""

    def forward(self, x, mask=None):
        n, t = x.shape[:2]
        if mask is None:
            return x[:, -1]
        idx = (mask.sum(1) - 1).clamp(min=0)
        return x[torch.arange(n, device=x.device), idx]


class GlobalPool(nn.Module):
    """Max or mean over time of [N, T, D] (padding left out; all padding gives 0), or over the positions
    of an image [N, C, H, W]."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def forward(self, x, mask=None):
        if x.dim() == 4:
            return x.amax((2, 3)) if self.kind == "max" else x.mean((2, 3))
        if mask is None:
            return x.amax(1) if self.kind == "max" else x.mean(1)
        m = mask.unsqueeze(-1)
        if self.kind == "avg":
            w = m.to(x.dtype)
            return (x * w).sum(1) / w.sum(1).clamp(min=1)
        top = x.masked_fill(~m, float("-inf")).amax(1)
        return torch.where(m.any(1), top, torch.zeros_like(top))


class Conv2d(nn.Module):
    """Cross-correlation; pad is (top, left, bottom, right); weight [F, C/groups, kh, kw].

    Symmetric padding goes to the convolution itself (one kernel, no copy);
    asymmetric padding (e.g. `same` with an even kernel) is an explicit F.pad.
    """

    def __init__(self, c_in, filters, kernel, stride, pad, bias, dilation=(1, 1), groups=1):
        super().__init__()
        self.weight = _zeros(filters, c_in // groups, *kernel)
        self.bias = _zeros(filters) if bias else None
        self.stride, self.dilation, self.groups = tuple(stride), tuple(dilation), groups
        top, left, bottom, right = pad
        self.symmetric = top == bottom and left == right
        self.padding = (top, left) if self.symmetric else (0, 0)
        self.pad4 = (left, right, top, bottom)  # F.pad order: last dim first

    def forward(self, x):
        if not self.symmetric:
            x = F.pad(x, self.pad4)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2dTranspose(nn.Module):
    """torch's conv_transpose2d with weight [C, F, kh, kw]; pad (top, left, bottom, right) crops the
    full output, output_padding adds zeros at the bottom/right (then the bias, everywhere).

    Symmetric crops are conv_transpose2d's own `padding`/`output_padding`; otherwise the full
    output is cropped and extended by one F.pad with negative and positive amounts.
    """

    def __init__(self, c_in, filters, kernel, stride, pad, output_padding, bias):
        super().__init__()
        self.weight = _zeros(c_in, filters, *kernel)
        self.bias = _zeros(filters) if bias else None
        self.stride = tuple(stride)
        top, left, bottom, right = pad
        oh, ow = output_padding
        self.native = top == bottom and left == right
        self.padding, self.output_padding = (top, left), (oh, ow)
        self.pad4 = (-left, ow - right, -top, oh - bottom)

    def forward(self, x):
        if self.native:
            return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding)
        y = F.pad(F.conv_transpose2d(x, self.weight, None, self.stride), self.pad4)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


class Conv1d(nn.Module):
    """Cross-correlation over time on [N, T, C] (F.conv1d on the [N, C, T] view); pad is (before, after)."""

    def __init__(self, c_in, filters, kernel, stride, pad, dilation, bias):
        super().__init__()
        self.weight = _zeros(filters, c_in, kernel)
        self.bias = _zeros(filters) if bias else None
        self.stride, self.dilation = stride, dilation
        self.symmetric = pad[0] == pad[1]
        self.padding = pad[0] if self.symmetric else 0
        self.pad2 = tuple(pad)

    def forward(self, x):
        x = x.transpose(1, 2)
        if not self.symmetric:
            x = F.pad(x, self.pad2)
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation).transpose(1, 2)


class BatchNorm(nn.Module):
    """Batch normalization over axis 1 with the canonical four tensors only.

    torch.nn.BatchNorm* would add a `num_batches_tracked` buffer, which is not
    a canonical key; F.batch_norm has exactly the conventions of the
    architecture page (biased variance to normalize, unbiased for running_var,
    running = (1-momentum)*running + momentum*batch).
    """

    def __init__(self, channels: int, momentum: float, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = _zeros(channels)
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.momentum, self.eps = float(momentum), float(eps)

    sync = None  # under DDP: syncbn.synced_batch_norm (statistics of every rank's samples)

    def forward(self, x):
        if self.training and self.sync is not None:
            return self.sync(self, x)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)


class GroupNorm(nn.Module):
    """torch.nn.GroupNorm's computation (F.group_norm) with the canonical weight and bias."""

    def __init__(self, channels: int, groups: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = _zeros(channels)
        self.groups, self.eps = groups, eps

    def forward(self, x):
        return F.group_norm(x, self.groups, self.weight, self.bias, self.eps)


class Maxout(nn.Module):
    """z = W x + b, reshaped [N, units, pieces] (row j*pieces+k is piece k of unit j), max over pieces."""

    def __init__(self, n_in: int, units: int, pieces: int):
        super().__init__()
        self.weight = _zeros(units * pieces, n_in)
        self.bias = _zeros(units * pieces)
        self.units, self.pieces = units, pieces

    def forward(self, x):
        z = F.linear(x, self.weight, self.bias)
        return z.reshape(z.shape[0], self.units, self.pieces).amax(-1)


class PReLU(nn.Module):
    """Leaky relu with learned slopes `weight`: [1] shared by all features, or one per channel/feature."""

    def __init__(self, alpha: float, n: int = 1, axis: int = 1):
        super().__init__()
        self.weight = nn.Parameter(torch.full((n,), float(alpha)))
        self.axis = axis  # of the batch: channels of an image or vector, the last axis of a sequence

    def forward(self, x):
        if self.weight.numel() == 1 or self.axis == 1:
            return F.prelu(x, self.weight)
        shape = [1] * x.dim()
        shape[self.axis] = -1
        return torch.where(x > 0, x, self.weight.view(shape) * x)


class Pool(nn.Module):
    """max / avg / l2 pooling, floor mode; pad (top, left, bottom, right) of -inf (max) or 0.

    A padded average counts real pixels only (count_include_pad=False): the mean over the
    zero-padded window divided by the mean of the same window over ones.
    """

    def __init__(self, kind: str, size, stride, pad=(0, 0, 0, 0)):
        super().__init__()
        self.kind, self.size = kind, tuple(size)
        self.stride = tuple(stride) if stride is not None else self.size
        top, left, bottom, right = pad
        self.pad4 = (left, right, top, bottom) if any(pad) else None

    def forward(self, x):
        if x.dim() == 3:  # a sequence [N, T, C]: pool over time (the size and stride are pairs of one length)
            pool = F.max_pool1d if self.kind == "max" else F.avg_pool1d
            return pool(x.transpose(1, 2), self.size[0], self.stride[0]).transpose(1, 2)
        if self.kind == "max":
            if self.pad4:
                x = F.pad(x, self.pad4, value=float("-inf"))
            return F.max_pool2d(x, self.size, self.stride)
        if self.kind == "avg":
            if not self.pad4:
                return F.avg_pool2d(x, self.size, self.stride)
            real = F.avg_pool2d(F.pad(torch.ones_like(x[:1, :1]), self.pad4), self.size, self.stride)
            return F.avg_pool2d(F.pad(x, self.pad4), self.size, self.stride) / real
        # l2: sqrt of the sum of squares. Where the sum is exactly 0 (e.g. a window
        # of relu zeros) the derivative of sqrt is infinite; the `where` pair keeps
        # the value 0 and the gradient 0 there instead of NaN (0 * inf).
        if self.pad4:
            x = F.pad(x, self.pad4)
        s = F.avg_pool2d(x * x, self.size, self.stride) * (self.size[0] * self.size[1])
        positive = s > 0
        return torch.where(positive, torch.sqrt(torch.where(positive, s, torch.ones_like(s))), torch.zeros_like(s))


class Upsample(nn.Module):
    """F.interpolate by integer factors: nearest, or bilinear with align_corners=False."""

    def __init__(self, scale, mode: str):
        super().__init__()
        self.scale, self.mode = tuple(float(s) for s in scale), mode

    def forward(self, x):
        if self.mode == "nearest":
            return F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)


class _StepFn(torch.autograd.Function):
    """Heaviside step with a zero gradient everywhere (the perceptron's unit)."""

    @staticmethod
    def forward(ctx, x, threshold):
        return (x > threshold).to(x.dtype)

    @staticmethod
    def backward(ctx, dy):
        return torch.zeros_like(dy), None


class Fn(nn.Module):
    """A parameterless elementwise/axis op given as a function (activations, flatten)."""

    def __init__(self, name: str, fn):
        super().__init__()
        self.name, self.fn = name, fn

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return self.name


class Dropout(nn.Module):
    """Inverted dropout in training mode, identity in eval mode."""

    def __init__(self, p: float):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training) if self.p > 0 else x


SCALED_TANH_A, SCALED_TANH_B = 1.7159, 2.0 / 3.0


def _activation(fn):
    return lambda layer: Fn(layer.op, fn(layer.attrs))


def _sum(xs):
    y = xs[0] + xs[1]
    for x in xs[2:]:
        y = y + x
    return y


def _product(xs):
    y = xs[0] * xs[1]
    for x in xs[2:]:
        y = y * x
    return y


def _feature_axis(x) -> int:
    """Channels of [N, C, H, W], the last axis otherwise (vectors, sequences)."""
    return 1 if x.dim() == 4 else -1


def _concat(xs):
    """Along the feature axis: channels of [N, C, H, W], the last axis otherwise."""
    return torch.cat(xs, dim=_feature_axis(xs[0]))


OP_TABLE = {
    "dense": lambda L: Dense(L.in_shape[-1], L.attrs["units"], L.attrs["bias"]),
    "embedding": _embedding,
    "pos_embedding": lambda L: PosEmbedding(L.attrs["max_len"], L.in_shape[1]),
    "layernorm": lambda L: nn.LayerNorm(L.in_shape[-1], eps=L.attrs["eps"]),
    "attention": lambda L: Attention(L.in_shape[1], L.attrs["heads"], L.attrs["causal"], L.attrs["dropout"]),
    "last": lambda L: LastStep(),
    "global_maxpool": lambda L: GlobalPool("max"),
    "global_avgpool": lambda L: GlobalPool("avg"),
    "conv2d": lambda L: Conv2d(L.in_shape[0], L.attrs["filters"], L.attrs["kernel"], L.attrs["stride"],
                               L.attrs["pad"], L.attrs["bias"], L.attrs["dilation"], L.attrs["groups"]),
    "conv1d": lambda L: Conv1d(L.in_shape[1], L.attrs["filters"], L.attrs["kernel"], L.attrs["stride"],
                               L.attrs["pad"], L.attrs["dilation"], L.attrs["bias"]),
    "rnn": recurrent.build,
    "lstm": recurrent.build,
    "gru": recurrent.build,
    "conv2d_transpose": lambda L: Conv2dTranspose(L.in_shape[0], L.attrs["filters"], L.attrs["kernel"],
                                                  L.attrs["stride"], L.attrs["pad"], L.attrs["output_padding"],
                                                  L.attrs["bias"]),
    "maxpool": lambda L: Pool("max", L.attrs["size"], L.attrs["stride"], L.attrs["pad"]),
    "avgpool": lambda L: Pool("avg", L.attrs["size"], L.attrs["stride"], L.attrs["pad"]),
    "l2pool": lambda L: Pool("l2", L.attrs["size"], L.attrs["stride"], L.attrs["pad"]),
    "upsample": lambda L: Upsample(L.attrs["scale"], L.attrs["mode"]),
    "flatten": lambda L: Fn("flatten", lambda x: x.flatten(1)),
    "dropout": lambda L: Dropout(L.attrs["p"]),
    "batchnorm": lambda L: BatchNorm(L.in_shape[0], L.attrs["momentum"], L.attrs["eps"]),
    "groupnorm": lambda L: GroupNorm(L.in_shape[0], L.attrs["groups"], L.attrs["eps"]),
    "maxout": lambda L: Maxout(L.in_shape[0], L.attrs["units"], L.attrs["pieces"]),
    "add": lambda L: Fn("add", _sum),
    "multiply": lambda L: Fn("multiply", _product),
    "concat": lambda L: Fn("concat", _concat),
    "identity": _activation(lambda a: lambda x: x),
    "step": _activation(lambda a: lambda x, t=float(a["threshold"]): _StepFn.apply(x, t)),
    "sigmoid": _activation(lambda a: lambda x, s=float(a["steepness"]): torch.sigmoid(x * s if s != 1.0 else x)),
    "tanh": _activation(lambda a: torch.tanh),
    "scaled_tanh": _activation(lambda a: lambda x: SCALED_TANH_A * torch.tanh(SCALED_TANH_B * x)),
    # hardtanh, not clamp: its gradient is 1 strictly inside (0, 1) and 0 at the ends (as NumPy's).
    "hard_sigmoid": _activation(lambda a: lambda x: F.hardtanh(x, 0.0, 1.0)),
    "relu": _activation(lambda a: F.relu),
    "leaky_relu": _activation(lambda a: lambda x, al=float(a["alpha"]): F.leaky_relu(x, al)),
    "prelu": lambda L: PReLU(L.attrs["alpha"], L.params[0].shape[0], 1 + prelu_axis(len(L.in_shape))),
    "relu6": _activation(lambda a: F.relu6),
    "hard_swish": _activation(lambda a: F.hardswish),
    "elu": _activation(lambda a: lambda x, al=float(a["alpha"]): F.elu(x, al)),
    "selu": _activation(lambda a: F.selu),
    # threshold=20 is torch's default: above it softplus(x) = x to float32 rounding.
    "softplus": _activation(lambda a: F.softplus),
    "gelu": _activation(lambda a: F.gelu),
    "silu": _activation(lambda a: F.silu),
    "softmax": _activation(lambda a: lambda x: torch.softmax(x, _feature_axis(x))),
    "log_softmax": _activation(lambda a: lambda x: torch.log_softmax(x, _feature_axis(x))),
}
