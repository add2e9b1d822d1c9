"""Speed of the NumPy backend against hand-written baselines measured in the same run.

1. One epoch of a 784-100-10 ReLU MLP (batch 64, SGD momentum 0.9, float32,
   20k random samples) through NumpyBackend vs a hand-written vectorized NumPy
   loop of the same net: samples/s of both and the ratio (goal >= 0.9x), plus
   the fraction of this machine's float32 matmul peak reached by the step.
2. One epoch of a LeNet-like CNN through NumpyBackend vs the same net in
   PyTorch (CPU): samples/s and ratio.

Competitors run interleaved step by step and rates come from the median step
time, so a shared machine's load hits both alike. On a busy machine,
`--threads 1` (one BLAS/torch thread each) gives far steadier numbers than
oversubscribed multi-threaded BLAS.

    python bench/numpy_mlp.py [--samples 20000] [--cnn-samples 2048] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from specc.backends.numpy.backend import NumpyBackend
from specc.init import initial_params
from specc.frontend import compile_text

B, LR, MOM = 64, 0.01, 0.9


def program(body: str, input_shape: str):
    """The benchmark nets, compiled from spec text like any spec (init he_normal, biases 0)."""
    return compile_text(f"model bench {{ input x {input_shape}; {body} }}\n"
                        f"train {{ loss = cross_entropy; optimizer = sgd(lr={LR}, momentum={MOM}); batch = {B} }}")



def matmul_peak(n=2048, reps=5):
    """Best float32 GFLOP/s of an n x n matmul on this machine (BLAS threads as configured)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = a.T.copy()
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def backend_steps(prog, params, x, y, order):
    """step(i) -> loss: training step i of one epoch through NumpyBackend."""
    be = NumpyBackend(prog, params, seed=0)
    be.put_data("train", x, y)
    be.set_order(order)
    n = len(order)
    return lambda i: be.train_step(i * B, min(i * B + B, n), LR, i)


def hand_mlp_steps(params, x, y, order):
    """What a careful person writes by hand: the same net, vectorized, in place where safe."""
    w1, b1, w2, b2 = (params[k].copy() for k in ("dense_1.weight", "dense_1.bias", "dense_2.weight", "dense_2.bias"))
    ps = [w1, b1, w2, b2]
    bufs = [np.zeros_like(p) for p in ps]

    def step(i):
        idx = order[i * B:i * B + B]
        xb, yb = x[idx], y[idx]
        n = len(idx)
        h = xb @ w1.T
        h += b1
        np.maximum(h, 0, out=h)
        z = h @ w2.T
        z += b2
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        rows = np.arange(n)
        loss = -float(np.log(p[rows, yb]).mean())
        p[rows, yb] -= 1
        p /= n
        dh = p @ w2
        dh *= h > 0
        grads = [dh.T @ xb, dh.sum(0), p.T @ h, p.sum(0)]
        for prm, g, buf in zip(ps, grads, bufs):  # torch SGD momentum, dampening 0
            buf *= MOM
            buf += g
            prm -= LR * buf
        return loss

    return step


def torch_cnn_steps(params, x, y, order):
    import torch
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
    keys = ["conv2d_1.weight", "conv2d_1.bias", "conv2d_2.weight", "conv2d_2.bias",
            "dense_1.weight", "dense_1.bias", "dense_2.weight", "dense_2.bias"]
    with torch.no_grad():
        for k, p in zip(keys, net.parameters()):
            p.copy_(torch.from_numpy(params[k]))
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOM)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step(i):
        idx = torch.from_numpy(order[i * B:i * B + B])
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
        return loss.item()

    return step


def race(n_samples, makers, warm=5):
    """Run one epoch of every competitor, interleaved step by step, so both see the
    same machine load (the machine is shared). Returns per competitor
    (samples/s from the median step time, epoch seconds, losses). Warm-up
    steps run on separate instances (same data), untimed."""
    steps = -(-n_samples // B)
    for make in makers:
        warm_step = make()
        for i in range(warm):
            warm_step(i)
    runs = [make() for make in makers]
    times = [[] for _ in runs]
    losses = [[] for _ in runs]
    for i in range(steps):
        for run, t_list, l_list in zip(runs, times, losses):
            t = time.perf_counter()
            l_list.append(float(run(i)))
            t_list.append(time.perf_counter() - t)
    return [(B / float(np.median(t)), float(np.sum(t)), np.array(loss)) for t, loss in zip(times, losses)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--cnn-samples", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/torch threads (default: as configured); 1 gives stable numbers on a busy machine")
    args = ap.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        import torch
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f}"
          + ("  (busy machine: numbers are noisy)" if load > (os.cpu_count() or 1) else ""))

    peak = matmul_peak()
    print(f"float32 matmul peak (2048^3): {peak:8.1f} GFLOP/s")

    # -- MLP -------------------------------------------------------------------------------
    n = args.samples
    x = rng.standard_normal((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    order = rng.permutation(n)
    prog = program("dense(100, init=he_normal); relu; dense(10, init=he_normal); softmax", "[784]")
    params = initial_params(prog, 0)
    (r_hand, t_hand, l_hand), (r_be, t_be, l_be) = race(
        n, [lambda: hand_mlp_steps(params, x, y, order), lambda: backend_steps(prog, params, x, y, order)])
    # flops per step: forward + weight gradients (2x forward) + input grad of layer 2 only
    fwd = 2 * B * (784 * 100 + 100 * 10)
    flops = 2 * fwd + 2 * B * 100 * 10
    print(f"MLP 784-100-10, batch {B}, {n} samples, one epoch, steps interleaved "
          f"(same losses: {np.allclose(l_be, l_hand, rtol=1e-3, atol=1e-4)})")
    print(f"  hand-written NumPy : {r_hand:10.0f} samples/s  (epoch {t_hand:.2f} s)")
    print(f"  NumpyBackend       : {r_be:10.0f} samples/s  (epoch {t_be:.2f} s)")
    print(f"  ratio backend/hand : {r_be / r_hand:.2f}x   (goal >= 0.9x)")
    print(f"  backend training step reaches {flops * r_be / B / 1e9:.1f} GFLOP/s = "
          f"{100 * flops * r_be / B / 1e9 / peak:.1f}% of the matmul peak")

    # -- LeNet-like CNN ---------------------------------------------------------------------
    n = args.cnn_samples
    x = rng.uniform(0, 1, (n, 1, 28, 28)).astype(np.float32)  # pixel-like inputs
    y = rng.integers(0, 10, n)
    order = rng.permutation(n)
    prog = program("conv2d(20, 5, init=he_normal); maxpool(2); conv2d(50, 5, init=he_normal); maxpool(2); "
                   "flatten; dense(500, init=he_normal); relu; dense(10, init=he_normal); softmax", "[1, 28, 28]")
    params = initial_params(prog, 0)
    (r_torch, t_torch, l_torch), (r_be, t_be, l_be) = race(
        n, [lambda: torch_cnn_steps(params, x, y, order), lambda: backend_steps(prog, params, x, y, order)], warm=3)
    assert np.isfinite(l_be).all() and np.isfinite(l_torch).all(), "CNN training diverged"
    print(f"LeNet-like CNN, batch {B}, {n} samples, one epoch, steps interleaved "
          f"(same losses: {np.allclose(l_be, l_torch, rtol=1e-3, atol=1e-4)})")
    print(f"  PyTorch CPU        : {r_torch:10.0f} samples/s  (epoch {t_torch:.2f} s)")
    print(f"  NumpyBackend       : {r_be:10.0f} samples/s  (epoch {t_be:.2f} s)")
    print(f"  ratio backend/torch: {r_be / r_torch:.2f}x")


if __name__ == "__main__":
    main()
