"""Time and memory of loading a 60,000 x 784 uint8 IDX set (MNIST-sized) as float32.

Makes synthetic MNIST files in a temp dir (plain and .gz; mostly-zero images
like the real ones so gzip behaves realistically), then measures:
  baseline   hand-written np.fromfile(...).astype(float32), the floor for this job
  load_data  specc's whole path (checks, reshape to the model input, float32, scale)
and the peak extra memory of load_data (tracemalloc sees NumPy's buffers),
against the size of one float32 copy (188 MB). Target: under 2 s, one copy.

    python bench/data_load.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import gc
import gzip
import os
import struct
import sys
import tempfile
import time
import tracemalloc

import numpy as np

from specc.data import load_data
from specc.ir import DataSpec, Layer, Model, Program, Source, Spec, TrainSpec

N, H, W = 60_000, 28, 28


def write_files(d: str) -> None:
    rng = np.random.default_rng(0)
    x = np.zeros((N, H, W), np.uint8)
    x[:, 6:22, 6:22] = rng.integers(0, 256, (N, 16, 16), dtype=np.uint8) * (rng.random((N, 16, 16)) < 0.4)
    y = rng.integers(0, 10, N).astype(np.uint8)
    img = bytes([0, 0, 8, 3]) + struct.pack(">III", N, H, W) + x.tobytes()
    lab = bytes([0, 0, 8, 1]) + struct.pack(">I", N) + y.tobytes()
    os.makedirs(os.path.join(d, "plain"))
    os.makedirs(os.path.join(d, "gz"))
    for name, data in (("train-images-idx3-ubyte", img), ("train-labels-idx1-ubyte", lab)):
        with open(os.path.join(d, "plain", name), "wb") as f:
            f.write(data)
        with gzip.open(os.path.join(d, "gz", name + ".gz"), "wb", compresslevel=6) as f:
            f.write(data)


def program(directory: str, standardize: bool, val: float = 0.0) -> Program:
    layers = (Layer("dense_1", "dense", {"units": 10}, (784,), (10,)), Layer("softmax_1", "softmax", {}, (10,), (10,)))
    model = Model("mlp", "image", (784,), layers)
    data = DataSpec(train=Source("mnist", {"dir": directory}), scale=1 / 255, standardize=standardize, val=val)
    return Program(model, data, TrainSpec(Spec("cross_entropy"), Spec("sgd", {"lr": 0.1})))


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        del out
    return min(times)


def baseline(d: str):
    x = np.fromfile(os.path.join(d, "plain", "train-images-idx3-ubyte"), np.uint8, offset=16).reshape(N, 784)
    x = x.astype(np.float32)
    x *= np.float32(1 / 255)
    return x


def peak_extra(fn) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del out
    return peak - before


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    one_copy = N * 784 * 4
    with tempfile.TemporaryDirectory() as d:
        write_files(d)
        rows = [
            ("baseline fromfile+astype", lambda: baseline(d)),
            ("load_data plain, scale", lambda: load_data(program(os.path.join(d, "plain"), False))),
            ("load_data plain, scale+std", lambda: load_data(program(os.path.join(d, "plain"), True))),
            ("load_data plain, std, val=0.1", lambda: load_data(program(os.path.join(d, "plain"), True, 0.1))),
            ("load_data .gz, scale", lambda: load_data(program(os.path.join(d, "gz"), False))),
        ]
        base = None
        print(f"{N} x {H}x{W} uint8 -> float32 ({one_copy / 1e6:.0f} MB per float32 copy), best of {args.repeat}")
        print(f"{'case':30s} {'time s':>8s} {'vs base':>8s} {'peak extra MB':>14s} {'copies':>7s}")
        for name, fn in rows:
            t = best_time(fn, args.repeat)
            base = base or t
            mem = peak_extra(fn)
            print(f"{name:30s} {t:8.3f} {t / base:8.2f} {mem / 1e6:14.0f} {mem / one_copy:7.2f}")
        ds = load_data(program(os.path.join(d, "plain"), False))
        assert ds.train.x.shape == (N, 784) and ds.train.x.dtype == np.float32
    return 0


if __name__ == "__main__":
    sys.exit(main())
