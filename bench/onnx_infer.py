"""onnxruntime on specc-exported models vs torch eager inference, same run, same weights.

    python bench/onnx_infer.py [--threads N] [--seconds S]

Models: the MNIST MLP (784-100-10, sigmoid, softmax) and a LeNet-like CNN
(conv 6@5x5 pad 2, maxpool, conv 16@5x5, maxpool, 120-84-10). For each:
batch-1 latency (median over many calls) and batch-256 throughput (samples/s,
median of repeats), for onnxruntime (CPU EP) and torch eager (torch.no_grad),
with the ratio torch/onnxruntime (> 1: onnxruntime faster). Both libraries get
the same number of intra-op threads. Also prints ONNX node counts of specc's
exporter next to torch.onnx.export (TorchScript exporter, opset 17) of the same
module (also for a model using most ops, via the torch backend's module), and checks the two runtimes' outputs agree before timing anything.
"""
from __future__ import annotations

import argparse
import io
import time
import warnings
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn

from specc.backends.onnx.export import build_model
from specc.frontend import compile_text
from specc.init import initial_params

MLP = """
model mnist_mlp {
    input image [784]
    dense(100)
    sigmoid
    dense(10)
    softmax
}
"""
LENET = """
model lenet {
    input image [1, 28, 28]
    conv2d(6, 5, pad=2)
    relu
    maxpool(2)
    conv2d(16, 5)
    relu
    maxpool(2)
    flatten
    dense(120)
    relu
    dense(84)
    relu
    dense(10)
    softmax
}
"""

# Every kind of lowering (composite ops, residual, batchnorm) for the node-count comparison.
MIXED = """
model mixed {
    input image [3, 16, 16]
    conv2d(8, 3, pad=same)
    batchnorm
    prelu
    residual {
        conv2d(8, 3, pad=1)
        leaky_relu(alpha=0.1)
        dropout(0.5)
    }
    l2pool(2)
    avgpool(2)
    flatten
    maxout(16, pieces=3)
    scaled_tanh
    dense(16)
    sigmoid(steepness=2)
    dense(8)
    hard_sigmoid
    dense(4)
    log_softmax
}
"""


def torch_module(program, params) -> nn.Module:
    """The same network as plain torch modules (only the ops these models use), same weights."""
    mods = []
    for layer in program.model.layers:
        a, w = layer.attrs, (lambda s, layer=layer: torch.from_numpy(params[layer.key(s)]))
        if layer.op == "dense":
            m = nn.Linear(layer.in_shape[0], a["units"], bias=a["bias"])
        elif layer.op == "conv2d":
            t, l, b, r = a["pad"]
            assert (t, l) == (b, r), "bench builds symmetric padding only"
            m = nn.Conv2d(layer.in_shape[0], a["filters"], a["kernel"], a["stride"], (t, l), bias=a["bias"])
        else:
            m = {"relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "softmax": nn.Softmax(1), "flatten": nn.Flatten(),
                 "maxpool": nn.MaxPool2d(a.get("size"), a.get("stride"))}[layer.op]
        if layer.params:
            with torch.no_grad():
                m.weight.copy_(w("weight"))
                if a.get("bias", True):
                    m.bias.copy_(w("bias"))
        mods.append(m)
    return nn.Sequential(*mods).eval()


def node_counts(model: onnx.ModelProto) -> str:
    c = Counter(n.op_type for n in model.graph.node)
    return f"{sum(c.values()):2d} nodes ({', '.join(f'{k} {v}' for k, v in sorted(c.items()))})"


def torch_export(module, example) -> onnx.ModelProto:
    f = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, still the one without onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), f, dynamo=False, opset_version=17, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    return onnx.load_from_string(f.getvalue())


def timed(fn, seconds: float, min_calls: int) -> list[float]:
    """Per-call wall times until `seconds` have passed and at least `min_calls` ran (after warm-up)."""
    for _ in range(10):
        fn()
    times, start = [], time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def bench_model(name, text, threads, seconds):
    program = compile_text(text, path=f"<{name}>")
    params = initial_params(program, seed=0)
    model = build_model(program, params)
    module = torch_module(program, params)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    inp = program.model.input_name

    rng = np.random.default_rng(0)
    x256 = rng.standard_normal((256, *program.model.input_shape)).astype(np.float32)
    x1 = x256[:1].copy()
    t256, t1 = torch.from_numpy(x256), torch.from_numpy(x1)
    with torch.no_grad():
        diff = np.abs(sess.run(None, {inp: x256})[0] - module(t256).numpy()).max()
    assert diff < 1e-5, f"{name}: onnxruntime and torch disagree by {diff}"

    def torch_call(t):
        with torch.no_grad():
            return module(t)

    ort_lat = np.median(timed(lambda: sess.run(None, {inp: x1}), seconds, 200)) * 1e6
    th_lat = np.median(timed(lambda: torch_call(t1), seconds, 200)) * 1e6
    ort_thr = 256 / np.median(timed(lambda: sess.run(None, {inp: x256}), seconds, 20))
    th_thr = 256 / np.median(timed(lambda: torch_call(t256), seconds, 20))

    print(f"\n{name}  (max |onnxruntime - torch| = {diff:.1e})")
    print(f"  batch-1 latency     onnxruntime {ort_lat:9.1f} us   torch {th_lat:9.1f} us   "
          f"torch/ort = {th_lat / ort_lat:5.2f}x")
    print(f"  batch-256 throughput onnxruntime {ort_thr:9.0f} /s   torch {th_thr:9.0f} /s   "
          f"ort/torch = {ort_thr / th_thr:5.2f}x")
    print(f"  specc export:      {node_counts(model)}")
    print(f"  torch.onnx.export: {node_counts(torch_export(module, t1))}")


def graph_report(name, text):
    """Node counts only, for a model using most ops; torch side from the torch backend's module."""
    from specc.backends.torch.model import build_model as torch_backend_module

    program = compile_text(text, path=f"<{name}>")
    params = initial_params(program, seed=0)
    module = torch_backend_module(program, params).eval()
    example = torch.zeros(1, *program.model.input_shape)
    print(f"\n{name} (graph only)")
    print(f"  specc export:      {node_counts(build_model(program, params))}")
    print(f"  torch.onnx.export: {node_counts(torch_export(module, example))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads for both (default 1)")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"onnxruntime {ort.__version__}, torch {torch.__version__}, onnx {onnx.__version__}, "
          f"{args.threads} thread(s), CPU")
    bench_model("mnist_mlp 784-100-10", MLP, args.threads, args.seconds)
    bench_model("lenet-like CNN", LENET, args.threads, args.seconds)
    graph_report("mixed ops", MIXED)


if __name__ == "__main__":
    main()
