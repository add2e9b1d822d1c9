"""Speed of the NumPy recurrent units (hand-written BPTT) against torch's nn.RNN/LSTM/GRU on CPU.

One forward + backward of one layer (batch 32, T 64, D 64, units 128, float32,
sequences=true, no padding and with padding) per cell type: the NumPy unit's time
against torch's module doing the same (autograd; the oneDNN/ATen kernels), and the
ratio torch time / NumPy time (1.0 = as fast as torch; the issue's goal for the
NumPy backend is >= 0.5). Competitors run interleaved and rates come from the median,
so a shared machine's load hits both alike; the last column is the same ratio in the
thread's CPU time (steadier still). `--threads 1` (default) sets one BLAS and one torch
thread, far steadier on a busy machine.

    python bench/numpy_recurrent.py [--threads 1] [--reps 15]
"""
from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--units", type=int, default=128)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from specc.backends.numpy.ops import OPS, Context

    torch.set_num_threads(args.threads)
    n, t, d, h = args.batch, args.steps, args.dim, args.units
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    lengths = rng.integers(t // 2, t + 1, n)
    lengths[0] = t
    print(f"batch {n}, T {t}, D {d}, units {h}, float32, {args.threads} thread(s); median of {args.reps}")
    print(f"{'layer':<14} {'numpy ms':>9} {'torch ms':>9} {'torch/numpy':>12} {'(CPU time)':>10}")
    for op in ("rnn", "lstm", "gru"):
        module = getattr(torch.nn, op.upper())(d, h, batch_first=True)
        params = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
        attrs = {"units": h, "sequences": True, "bidirectional": False, "act": "tanh"}
        for padded in (False, True):
            mask = (np.arange(t)[None, :] < lengths[:, None]) if padded else None
            ctx = Context(True)
            ctx.mask = mask

            def numpy_step():
                y, cache = OPS[op].forward(x, params, attrs, ctx)
                OPS[op].backward(np.ones_like(y), cache)

            xt = torch.from_numpy(x).requires_grad_(True)
            lt = torch.from_numpy(lengths)

            def torch_step():
                if padded:
                    packed = pack_padded_sequence(xt, lt, batch_first=True, enforce_sorted=False)
                    out, _ = pad_packed_sequence(module(packed)[0], batch_first=True, total_length=t)
                else:
                    out, _ = module(xt)
                out.sum().backward()

            times = {"numpy": [], "torch": []}
            cpu = {"numpy": [], "torch": []}
            numpy_step(), torch_step()  # warm up
            for _ in range(args.reps):
                for name, fn in (("numpy", numpy_step), ("torch", torch_step)):
                    start, start_cpu = time.perf_counter(), time.thread_time()
                    fn()
                    times[name].append(time.perf_counter() - start)
                    cpu[name].append(time.thread_time() - start_cpu)
            a, b = (float(np.median(times[k])) * 1e3 for k in ("numpy", "torch"))
            ca, cb = (float(np.median(cpu[k])) for k in ("numpy", "torch"))
            print(f"{op + (' padded' if padded else ''):<14} {a:9.1f} {b:9.1f} {b / a:12.2f} {cb / ca:10.2f}")


if __name__ == "__main__":
    main()
