"""OP_TABLE: one lowering per spec op, from IR layer to ONNX nodes (opset 17).

A lowering is `fn(g: GraphBuilder, layer: Layer, x: str) -> str`: it appends
nodes that compute the layer from tensor `x` and returns the output tensor's
name (a merge's lowering takes the list of its input tensors; a mask-aware op's
lowering, `OpDef.uses_mask`, also gets `mask=`: the name of a bool [N, T] tensor,
True = real token, or None when its input is unmasked). One ONNX node per op where ONNX has one; ops ONNX lacks (step,
scaled_tanh, sigmoid steepness, maxout) are composed from primitives.
Inference only: dropout lowers to nothing, batchnorm to its inference form.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto

from specc.ir import Layer

from . import recurrent
from .graph import GraphBuilder


def _dense(g: GraphBuilder, layer: Layer, x: str) -> str:
    # Gemm(x, W, b, transB=1) computes x @ W.T + b with W in the canonical [out, in] layout.
    if len(layer.in_shape) == 2:  # a sequence [N, T, in]: Gemm is 2-D only, so MatMul by Wᵀ per position
        return linear(g, x, "weight", "bias" if layer.attrs["bias"] else None)
    inputs = [x, g.weight("weight")]
    if layer.attrs["bias"]:
        inputs.append(g.weight("bias"))
    return g.node("Gemm", inputs, transB=1)


def linear(g: GraphBuilder, x: str, weight: str, bias: str | None) -> str:
    """x @ Wᵀ + b over the last axis of a tensor of any rank (W the layer's [out, in] parameter)."""
    y = g.node("MatMul", [x, g.node("Transpose", [g.weight(weight)], perm=[1, 0])])
    return g.node("Add", [y, g.weight(bias)]) if bias is not None else y


def _embedding(g, layer, x):
    # Rows of W [vocab, dim] picked by the int64 token ids: [N, T] -> [N, T, dim].
    return g.node("Gather", [g.weight("weight"), x], axis=0)


def _seq_len(g, x):
    """The time extent of x [N, T, ...] as an int64 [1] tensor (a dynamic sequence axis stays dynamic)."""
    return g.node("Shape", [x], start=1, end=2)


def _pos_embedding(g, layer, x):
    # x + W[:T]: the first T rows of W [max_len, D].
    zero = g.const([0], np.int64, "zero")
    rows = g.node("Slice", [g.weight("weight"), zero, _seq_len(g, x), zero])
    return g.node("Add", [x, rows])


def _layernorm(g, layer, x):
    return g.node("LayerNormalization", [x, g.weight("weight"), g.weight("bias")], axis=-1,
                  epsilon=float(layer.attrs["eps"]))


def _silu(g, layer, x):
    return g.node("Mul", [x, g.node("Sigmoid", [x])])


def _attention(g, layer, x, mask=None):
    """MatMul / Softmax attention, minGPT's steps: project, split heads, scaled scores, masked
    softmax over the keys, weighted values, merge heads, output projection.

    Disallowed scores (padding keys, later keys when causal) become float32's lowest value, so
    their weight is exactly 0; a query with no allowed key is zeroed after the projection.
    """
    t_max, d = layer.in_shape
    heads = layer.attrs["heads"]
    head_shape = g.const([0, 0, heads, d // heads], np.int64, "head_shape")
    split = lambda proj: g.node("Transpose", [g.node("Reshape", [linear(g, x, f"{proj}.weight", f"{proj}.bias"),  # noqa: E731
                                                                  head_shape])], perm=[0, 2, 1, 3])
    q, k, v = split("q"), split("k"), split("v")                                       # [N, H, T, d]
    scores = g.node("Mul", [g.node("MatMul", [q, g.node("Transpose", [k], perm=[0, 1, 3, 2])]),
                            g.const(1.0 / np.sqrt(d // heads), hint="attention_scale")])
    allowed = None
    if mask is not None:  # [N, T] -> [N, 1, 1, T]: keys
        allowed = g.node("Unsqueeze", [mask, g.const([1, 2], np.int64, "axes_1_2")])
    if layer.attrs["causal"]:
        t = _seq_len(g, x)
        zero2 = g.const([0, 0], np.int64, "zero2")
        tri = g.node("Slice", [g.const(np.tril(np.ones((t_max, t_max), bool)), np.bool_, "causal"), zero2,
                               g.node("Concat", [t, t], axis=0), g.const([0, 1], np.int64, "axes_0_1")])
        allowed = tri if allowed is None else g.node("And", [allowed, tri])
    if allowed is not None:
        lowest = g.const(np.finfo(np.float32).min, hint="lowest")
        scores = g.node("Where", [allowed, scores, lowest])
    weights = g.node("Softmax", [scores], axis=-1)
    merged = g.node("Reshape", [g.node("Transpose", [g.node("MatMul", [weights, v])], perm=[0, 2, 1, 3]),
                                g.const([0, 0, d], np.int64, "model_shape")])
    y = linear(g, merged, "o.weight", "o.bias")
    if mask is not None:  # a query with no key to attend (all padding) outputs zeros
        seen = g.node("Cast", [allowed], to=TensorProto.FLOAT)
        has = g.node("ReduceMax", [seen], axes=[-1], keepdims=1)                        # [N, 1, T, 1]
        y = g.node("Mul", [y, g.node("Squeeze", [has, g.const([1], np.int64, "axis_1")])])
    return y


def _last(g, layer, x, mask=None):
    # The last non-padding position (right padding: lengths - 1, at least 0); T - 1 without a mask.
    if mask is None:
        last = g.node("Gather", [x, g.const([-1], np.int64, "last")], axis=1)            # [N, 1, D]
        return g.node("Squeeze", [last, g.const([1], np.int64, "axis_1")])
    lengths = g.node("ReduceSum", [g.node("Cast", [mask], to=TensorProto.INT64), g.const([1], np.int64, "axis_1")],
                     keepdims=1)                                                         # [N, 1]
    index = g.node("Max", [g.node("Sub", [lengths, g.const([1], np.int64, "one_i")]), g.const([0], np.int64, "zero")])
    scalar = lambda v: g.node("Squeeze", [v, g.const([0], np.int64, "zero")])  # noqa: E731  [1] -> []
    span = g.node("Range", [scalar(g.const([0], np.int64, "zero")), scalar(_seq_len(g, x)),
                            scalar(g.const([1], np.int64, "one_i"))])
    positions = g.node("Unsqueeze", [span, g.const([0], np.int64, "zero")])                # [1, T]
    pick = g.node("Cast", [g.node("Equal", [positions, index])], to=TensorProto.FLOAT)   # [N, T] one-hot
    picked = g.node("Mul", [x, g.node("Unsqueeze", [pick, g.const([2], np.int64, "axis_2")])])
    return g.node("ReduceSum", [picked, g.const([1], np.int64, "axis_1")], keepdims=0)


def _global_pool(kind):
    def lower(g, layer, x, mask=None):
        if len(layer.in_shape) == 3:  # an image: GlobalMaxPool / GlobalAveragePool, then [N, C]
            pooled = g.node("GlobalMaxPool" if kind == "max" else "GlobalAveragePool", [x])
            return g.node("Flatten", [pooled], axis=1)
        if mask is None:
            return g.node("ReduceMax" if kind == "max" else "ReduceMean", [x], axes=[1], keepdims=0)
        axis1 = g.const([1], np.int64, "axis_1")
        real = g.node("Unsqueeze", [mask, g.const([2], np.int64, "axis_2")])            # [N, T, 1]
        weight = g.node("Cast", [real], to=TensorProto.FLOAT)
        if kind == "avg":
            total = g.node("ReduceSum", [g.node("Mul", [x, weight]), axis1], keepdims=0)
            count = g.node("Max", [g.node("ReduceSum", [weight, axis1], keepdims=0), g.const(1.0, hint="one")])
            return g.node("Div", [total, count])
        top = g.node("ReduceMax", [g.node("Where", [real, x, g.const(-np.inf, hint="minus_inf")])], axes=[1],
                     keepdims=0)
        has = g.node("Greater", [g.node("ReduceMax", [weight], axes=[1], keepdims=0), g.const(0.5, hint="half")])
        return g.node("Where", [has, top, g.const(0.0, hint="zero_f")])
    lower.__doc__ = f"Global {kind} pooling: over an image's positions, or over time leaving padding out."
    return lower


def _conv2d(g, layer, x):
    a = layer.attrs
    inputs = [x, g.weight("weight")]
    if a.get("bias", True):
        inputs.append(g.weight("bias"))
    # specc pad (top, left, bottom, right) is ONNX's [x1_begin, x2_begin, x1_end, x2_end].
    return g.node("Conv", inputs, kernel_shape=list(a["kernel"]), strides=list(a["stride"]),
                  pads=list(a["pad"]), dilations=list(a["dilation"]), group=a["groups"])


def _conv2d_transpose(g, layer, x):
    # ONNX's ConvTranspose has PyTorch's weight layout [C, F, kh, kw] and output size
    # s (in - 1) + output_padding + k - pad_begin - pad_end: the same crop and extension as specc's.
    a = layer.attrs
    inputs = [x, g.weight("weight")] + ([g.weight("bias")] if a["bias"] else [])
    return g.node("ConvTranspose", inputs, kernel_shape=list(a["kernel"]), strides=list(a["stride"]),
                  pads=list(a["pad"]), output_padding=list(a["output_padding"]))


def _over_time(g, x, op_type, inputs=(), **attrs):
    """A 1-D Conv / pool on a sequence [N, T, C]: ONNX wants [N, C, T], so transpose in and out."""
    y = g.node(op_type, [g.node("Transpose", [x], perm=[0, 2, 1]), *inputs], **attrs)
    return g.node("Transpose", [y], perm=[0, 2, 1])


def _conv1d(g, layer, x):
    a = layer.attrs
    inputs = [g.weight("weight")] + ([g.weight("bias")] if a["bias"] else [])
    return _over_time(g, x, "Conv", inputs, kernel_shape=[a["kernel"]], strides=[a["stride"]],
                      pads=list(a["pad"]), dilations=[a["dilation"]])


def _pool(op_type, **extra):
    def lower(g, layer, x):
        a = layer.attrs
        stride = a["stride"]
        if len(layer.in_shape) == 2:  # over time: one length each (stored as pairs), no padding
            return _over_time(g, x, op_type, kernel_shape=[a["size"][0]], strides=[stride[0]], **extra)
        pads = {"pads": list(a["pad"])} if any(a["pad"]) else {}
        return g.node(op_type, [x], kernel_shape=list(a["size"]), strides=list(stride), **pads, **extra)
    lower.__doc__ = f"{op_type} (floor), padding as the spec's pooling layers (never counted in an average)."
    return lower


def _upsample(g, layer, x):
    # Resize by constant scales. nearest: source floor(o / s) (asymmetric, floor), PyTorch's
    # nearest for integer scales; bilinear: half-pixel centres (align_corners=false).
    a = layer.attrs
    scales = g.const([1.0, 1.0, *map(float, a["scale"])], hint="scales")
    if a["mode"] == "nearest":
        return g.node("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                      nearest_mode="floor")
    return g.node("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="half_pixel")


def _flatten(g, layer, x):
    return g.node("Flatten", [x], axis=1)


def _skip(g, layer, x):
    """Identity at inference (dropout, identity): no node at all, so no Identity chains."""
    return x


def _batchnorm(g, layer, x):
    # Inference form: running statistics; momentum only matters in training.
    return g.node("BatchNormalization",
                  [x, g.weight("weight"), g.weight("bias"), g.weight("running_mean"), g.weight("running_var")],
                  epsilon=float(layer.attrs["eps"]))


def _groupnorm(g, layer, x):
    # Opset 17 has no GroupNormalization (it came in 18): view [N, G, rest], normalize over rest with
    # the biased variance, view back, then the per-channel scale and shift.
    a, rank = layer.attrs, len(layer.in_shape)
    groups = g.node("Reshape", [x, g.const([0, a["groups"], -1], np.int64, "groups_shape")])
    mean = g.node("ReduceMean", [groups], axes=[2], keepdims=1)
    centred = g.node("Sub", [groups, mean])
    var = g.node("ReduceMean", [g.node("Mul", [centred, centred])], axes=[2], keepdims=1)
    std = g.node("Sqrt", [g.node("Add", [var, g.const(float(a["eps"]), hint="eps")])])
    xhat = g.node("Reshape", [g.node("Div", [centred, std]), g.node("Shape", [x])])
    per_channel = g.const([-1] + [1] * (rank - 1), np.int64, "channel_shape")
    scaled = g.node("Mul", [xhat, g.node("Reshape", [g.weight("weight"), per_channel])])
    return g.node("Add", [scaled, g.node("Reshape", [g.weight("bias"), per_channel])])


def _maxout(g, layer, x):
    # Row j*pieces + k of W is piece k of unit j, so [N, units*pieces] -> [N, units, pieces] -> max.
    a = layer.attrs
    z = g.node("Gemm", [x, g.weight("weight"), g.weight("bias")], transB=1)
    shape = g.const([0, a["units"], a["pieces"]], np.int64, "maxout_shape")  # 0 keeps the batch dim
    z = g.node("Reshape", [z, shape])
    return g.node("ReduceMax", [z], axes=[2], keepdims=0)


def _step(g, layer, x):
    # 1 where x > threshold else 0 (as float).
    t = g.const(layer.attrs["threshold"], hint="threshold")
    return g.node("Cast", [g.node("Greater", [x, t])], to=TensorProto.FLOAT)


def _sigmoid(g, layer, x):
    k = float(layer.attrs["steepness"])
    if k != 1.0:
        x = g.node("Mul", [x, g.const(k, hint="steepness")])
    return g.node("Sigmoid", [x])


def _scaled_tanh(g, layer, x):
    # LeCun's 1.7159 * tanh(2/3 x), same order of operations as the NumPy backend.
    x = g.node("Mul", [x, g.const(2.0 / 3.0, hint="two_thirds")])
    return g.node("Mul", [g.node("Tanh", [x]), g.const(1.7159, hint="lecun_scale")])


def _hard_sigmoid(g, layer, x):
    # HardSigmoid = max(0, min(1, alpha x + beta)); alpha=1, beta=0 is clip(x, 0, 1).
    return g.node("HardSigmoid", [x], alpha=1.0, beta=0.0)


def _unary(op_type, **fixed):
    def lower(g, layer, x):
        return g.node(op_type, [x], **fixed)
    lower.__doc__ = f"One {op_type} node."
    return lower


def _leaky_relu(g, layer, x):
    return g.node("LeakyRelu", [x], alpha=float(layer.attrs["alpha"]))


def _prelu(g, layer, x):
    # A slope [1] broadcasts over any input; one per channel is reshaped to [C, 1, 1] for an
    # image (numpy broadcasting from the right), and is already [F] for a vector or a sequence.
    slope = g.weight("weight")
    if layer.params[0].shape[0] > 1 and len(layer.in_shape) == 3:
        slope = g.node("Reshape", [slope, g.const([-1, 1, 1], np.int64, "channel_slope")])
    return g.node("PRelu", [x, slope])


def _relu6(g, layer, x):
    return g.node("Clip", [x, g.const(0.0, hint="zero"), g.const(6.0, hint="six")])


def _elu(g, layer, x):
    return g.node("Elu", [x], alpha=float(layer.attrs["alpha"]))


def _gelu(g, layer, x):
    # x * Φ(x) = x * 0.5 * (1 + erf(x / √2)): Erf is in opset 17 (the Gelu node only from opset 20).
    e = g.node("Erf", [g.node("Div", [x, g.const(2.0 ** 0.5, hint="sqrt2")])])
    half = g.node("Mul", [g.node("Add", [e, g.const(1.0, hint="one")]), g.const(0.5, hint="half")])
    return g.node("Mul", [x, half])


def _feature_axis_op(op_type):
    """Softmax / LogSoftmax over the feature axis: channels of an image, else the last axis."""
    def lower(g, layer, x):
        return g.node(op_type, [x], axis=1 if len(layer.in_shape) == 3 else -1)
    lower.__doc__ = f"One {op_type} node over the feature axis."
    return lower


def _variadic(op_type):
    """Add / Mul of several values: a chain of binary nodes (ONNX's Add and Mul take two inputs)."""
    def lower(g, layer, xs):
        y = xs[0]
        for x in xs[1:]:
            y = g.node(op_type, [y, x])
        return y
    lower.__doc__ = f"{op_type} over the merged values."
    return lower


def _concat(g, layer, xs):
    # The feature axis: channels of [N, C, H, W], else the last axis (rank from the first input's shape).
    axis = 1 if len(layer.in_shapes[0]) == 3 else len(layer.in_shapes[0])
    return g.node("Concat", list(xs), axis=axis)


OP_TABLE = {
    "dense": _dense,
    "embedding": _embedding,
    "pos_embedding": _pos_embedding,
    "layernorm": _layernorm,
    "attention": _attention,
    "last": _last,
    "global_maxpool": _global_pool("max"),
    "global_avgpool": _global_pool("avg"),
    "silu": _silu,
    "conv2d": _conv2d,
    "conv1d": _conv1d,
    "rnn": recurrent.lower,
    "lstm": recurrent.lower,
    "gru": recurrent.lower,
    "conv2d_transpose": _conv2d_transpose,
    "maxpool": _pool("MaxPool"),
    "avgpool": _pool("AveragePool"),  # count_include_pad=0, ONNX's default: padding left out
    "l2pool": _pool("LpPool", p=2),
    "upsample": _upsample,
    "flatten": _flatten,
    "dropout": _skip,
    "batchnorm": _batchnorm,
    "groupnorm": _groupnorm,
    "maxout": _maxout,
    "add": _variadic("Add"),
    "multiply": _variadic("Mul"),
    "concat": _concat,
    "identity": _skip,
    "step": _step,
    "sigmoid": _sigmoid,
    "tanh": _unary("Tanh"),
    "scaled_tanh": _scaled_tanh,
    "hard_sigmoid": _hard_sigmoid,
    "relu": _unary("Relu"),
    "leaky_relu": _leaky_relu,
    "prelu": _prelu,
    "relu6": _relu6,
    "hard_swish": _unary("HardSwish"),
    "elu": _elu,
    # Explicit constants: ONNX's defaults are these float32 values, PyTorch's too.
    "selu": _unary("Selu", alpha=1.6732632423543772, gamma=1.0507009873554805),
    "softplus": _unary("Softplus"),
    "gelu": _gelu,
    "softmax": _feature_axis_op("Softmax"),
    "log_softmax": _feature_axis_op("LogSoftmax"),
}
