"""An independent forward pass with torch.nn.functional (float32), for equivalence tests.

Written from the op definitions in specc/ops.py, not from the exporter, so a
lowering mistake (wrong pad order, wrong maxout grouping) shows up as a mismatch.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _layer(layer, x, p):
    a, op = layer.attrs, layer.op
    w = lambda s: torch.from_numpy(p[layer.key(s)])  # noqa: E731
    if op == "dense":
        return F.linear(x, w("weight"), w("bias") if a["bias"] else None)
    if op == "conv2d":
        t, l, b, r = a["pad"]
        return F.conv2d(F.pad(x, (l, r, t, b)), w("weight"), w("bias") if a["bias"] else None, stride=a["stride"],
                        dilation=a["dilation"], groups=a["groups"])
    if op == "conv2d_transpose":  # the full output, cropped by pad, extended by output_padding, then the bias
        t, l, b, r = a["pad"]
        oh, ow = a["output_padding"]
        y = F.pad(F.conv_transpose2d(x, w("weight"), stride=a["stride"]), (-l, ow - r, -t, oh - b))
        return y + w("bias").view(1, -1, 1, 1) if a["bias"] else y
    if op == "upsample":
        mode = {"nearest": {"mode": "nearest"}, "bilinear": {"mode": "bilinear", "align_corners": False}}
        return F.interpolate(x, scale_factor=tuple(float(s) for s in a["scale"]), **mode[a["mode"]])
    t, l, b, r = a.get("pad", (0, 0, 0, 0))
    if op == "maxpool":
        return F.max_pool2d(F.pad(x, (l, r, t, b), value=-np.inf), a["size"], a["stride"])
    if op == "avgpool":  # padding left out of the average
        ones = F.pad(torch.ones_like(x), (l, r, t, b))
        return F.avg_pool2d(F.pad(x, (l, r, t, b)), a["size"], a["stride"]) / F.avg_pool2d(ones, a["size"], a["stride"])
    if op == "l2pool":
        return F.lp_pool2d(F.pad(x, (l, r, t, b)), 2, a["size"], a["stride"])
    if op == "flatten":
        return x.flatten(1)
    if op in ("dropout", "identity"):
        return x
    if op == "batchnorm":
        return F.batch_norm(x, w("running_mean"), w("running_var"), w("weight"), w("bias"), False, 0.0, a["eps"])
    if op == "maxout":
        z = F.linear(x, w("weight"), w("bias"))
        return z.reshape(z.shape[0], a["units"], a["pieces"]).amax(-1)
    if op == "step":
        return (x > a["threshold"]).float()
    if op == "sigmoid":
        return torch.sigmoid(x * a["steepness"]) if a["steepness"] != 1 else torch.sigmoid(x)
    if op == "tanh":
        return torch.tanh(x)
    if op == "scaled_tanh":
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))
    if op == "hard_sigmoid":
        return x.clamp(0, 1)
    if op == "relu":
        return F.relu(x)
    if op == "leaky_relu":
        return F.leaky_relu(x, a["alpha"])
    if op == "prelu":
        slope = w("weight")
        if slope.numel() > 1 and x.dim() == 3:  # a sequence [N, T, F]: one slope per feature (the last axis)
            return torch.where(x > 0, x, slope * x)
        return F.prelu(x, slope)
    if op == "relu6":
        return F.relu6(x)
    if op == "hard_swish":
        return F.hardswish(x)
    if op == "elu":
        return F.elu(x, a["alpha"])
    if op == "selu":
        return F.selu(x)
    if op == "softplus":
        return F.softplus(x)
    if op == "softmax":
        return F.softmax(x, 1)
    if op == "log_softmax":
        return F.log_softmax(x, 1)
    raise NotImplementedError(op)


def forward(program, params, x: np.ndarray, preprocess=None) -> np.ndarray:
    """Model output for raw float32 inputs x [N, *input_shape]."""
    with torch.no_grad():
        t = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        if preprocess:
            if preprocess.get("scale") is not None:
                t = t * preprocess["scale"]
            if preprocess.get("mean") is not None:
                t = t - torch.from_numpy(preprocess["mean"])
            if preprocess.get("std") is not None:
                t = t / torch.from_numpy(preprocess["std"])
        env = {program.model.input_name: t}
        for layer in program.model.layers:
            xs = [env[v] for v in layer.inputs]
            if layer.op == "add":
                env[layer.name] = sum(xs[1:], xs[0])
            elif layer.op == "multiply":
                env[layer.name] = xs[0] * xs[1] if len(xs) == 2 else xs[0] * xs[1] * xs[2]
            elif layer.op == "concat":
                env[layer.name] = torch.cat(xs, 1)
            else:
                env[layer.name] = _layer(layer, xs[0], params)
        return env[program.model.outputs[0].value].numpy()
