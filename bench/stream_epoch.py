"""Training throughput on streamed data (npy(): memory-mapped shards, a batch read per step)
against the same data held in memory (npz()), same run.

The set is MNIST-sized: 60,000 x 784 uint8 inputs in 6 shards (and the same arrays
in one .npz), `scale` + `standardize`, so every streamed batch is gathered from the
memory-mapped files, converted to float32 and standardized on the fly. Each case
trains `--epochs` epochs and reports the samples/s of its best epoch after the
first (which warms the page cache and the allocator); in-memory and streamed runs
alternate `--repeat` times and the best of each is kept, so load from other
processes on a shared machine hurts both alike. The goal is streamed >= 0.8x in memory.
With one math thread on a machine of several cores, both backends try reading the
next chunks of steps in a background thread and keep it if the steps are faster
(data.stream.reads_ahead; `--prefetch on` keeps it without a trial, `--prefetch off`
reads in the training thread): the share of the training time the step still spent
waiting for it is printed too.

Two rates per case: wall-clock samples/s (what a user sees; on a shared machine
it swings with other processes' load) and samples per CPU-second of this process
(the work done per sample, steadier under load; the prefetch thread's work
counts). Math libraries run one thread (`--threads`), so CPU time is not inflated
by spinning BLAS threads and the cases compete less with each other. Models: `tiny` (one dense layer: the worst case, data
handling is most of a step) and `mlp` (784-256-10).

A second table interleaves the two: one process holds both, and trains an epoch in
memory and an epoch streamed in turn (`--pairs` times; training steps alone, no
evaluation), so a burst of load from other processes falls on both members of a
pair; the median pair ratio is the steadiest number on a shared machine.

    python bench/stream_epoch.py [--backends numpy,torch] [--models tiny,mlp] [--epochs 2] [--repeat 2] [--pairs 8]
                                 [--threads 1] [--device cpu]
                                 [--prefetch on|off]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def _threads() -> str:
    """--threads N, read before numpy (BLAS reads its thread count once, at import)."""
    args = sys.argv[1:]
    for i, a in enumerate(args):
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
        if a == "--threads" and i + 1 < len(args):
            return args[i + 1]
    return "1"


for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _threads()

import numpy as np  # noqa: E402

N, D, SHARDS = 60_000, 784, 6

MODELS = {
    "tiny": "dense(10); softmax",
    "mlp": "dense(256); relu; dense(10); softmax",
}

SPEC = """
model bench {{
    input pixels [784]
    {layers}
}}
data  {{ source = {source}; split = [0.9, 0.1]; scale = 0.00390625; standardize = true }}
train {{ loss = cross_entropy; optimizer = sgd(lr=0.05, momentum=0.9); batch = {batch}; epochs = {epochs}; seed = 0 }}
"""


def write_sets(d: str) -> tuple[str, str]:
    """The same data as a directory of npy shards and as one npz archive."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, N)
    x = rng.integers(0, 256, (N, D), dtype=np.uint8)
    x[np.arange(N), y] = 255  # something to learn
    os.makedirs(os.path.join(d, "npy", "x"))
    for k, part in enumerate(np.array_split(x, SHARDS)):
        np.save(os.path.join(d, "npy", "x", f"{k:03d}.npy"), part)
    np.save(os.path.join(d, "npy", "y.npy"), y)
    np.savez(os.path.join(d, "m.npz"), x=x, y=y)
    return f'npy("{d}/npy")', f'npz("{d}/m.npz")'


def run_case(source: str, layers: str, backend: str, epochs: int, batch: int, device: str | None, out: str):
    from specc.driver import Trainer
    from specc.frontend import compile_text

    program = compile_text(SPEC.format(layers=layers, source=source, epochs=epochs, batch=batch))
    options = {"device": device} if backend == "torch" and device else {}
    if PREFETCH is not None:
        options["prefetch"] = PREFETCH
    if backend == "torch":
        import torch

        torch.set_num_threads(int(_threads()))
    t0 = time.perf_counter()
    cpu_marks = [time.process_time()]  # at the start and the end of every epoch (on_epoch)
    trainer = Trainer(program, backend=backend, out=out, plot="off", handle_signals=False, options=options,
                      on_epoch=lambda row: cpu_marks.append(time.process_time()))
    load = time.perf_counter() - t0
    cpu_marks[0] = time.process_time()
    result = trainer.run()
    n_train = result.history[0]["samples_per_s"] * result.history[0]["time"]
    later = result.history[1:] or result.history
    cpu = [b - a for a, b in zip(cpu_marks, cpu_marks[1:])][-len(later):]
    train_time = sum(r["time"] for r in result.history)
    waited = getattr(trainer.backend, "data_wait_s", None)  # seconds the step waited for the read-ahead thread
    return {"samples_per_s": max(r["samples_per_s"] for r in later), "cpu_rate": max(n_train / c for c in cpu),
            "load_s": load, "train_s": train_time,
            "waited_share": None if waited is None or "npy" not in source else waited / train_time}


PREFETCH = None  # --prefetch on|off: the backends' read-ahead thread (default: their own choice, data.stream.reads_ahead)


def interleaved(memory: str, streamed: str, layers: str, backend: str, pairs: int, batch: int,
                device: str | None) -> dict:
    """Training epochs alone (no evaluation, no driver), in memory and streamed in turn, each pair in
    one process a fraction of a second apart: load from other processes falls on both alike.
    Returns the median over pairs (the first, which warms caches, left out) of in-memory time /
    streamed time, wall-clock and CPU seconds."""
    from specc.backend_lookup import backend_class
    from specc.data import load_data
    from specc.frontend import compile_text
    from specc.init import initial_params
    from specc.rng import stream

    options = {"device": device} if backend == "torch" and device else {}
    if PREFETCH is not None:
        options["prefetch"] = PREFETCH
    if backend == "torch":
        import torch

        torch.set_num_threads(int(_threads()))
    backends = {}
    for name, source in (("memory", memory), ("streamed", streamed)):
        program = compile_text(SPEC.format(layers=layers, source=source, epochs=1, batch=batch))
        data = load_data(program)
        be = backend_class(backend)(program, initial_params(program), seed=0, **options)
        be.put_data("train", data.train.inputs, data.train.targets)
        backends[name] = (be, len(data.train))
    times: dict[str, list] = {"memory": [], "streamed": []}
    for e in range(pairs + 1):
        for name in (("memory", "streamed") if e % 2 == 0 else ("streamed", "memory")):
            be, n = backends[name]
            be.set_order(stream(0, "shuffle", e).permutation(n))
            t, c = time.perf_counter(), time.process_time()
            handles = [be.train_step(s, min(s + batch, n), 0.01, e * n + s) for s in range(0, n, batch)]
            be.losses_to_numpy(handles)
            times[name].append((time.perf_counter() - t, time.process_time() - c))
    wall = [m[0] / s[0] for m, s in zip(times["memory"][1:], times["streamed"][1:])]
    cpu = [m[1] / s[1] for m, s in zip(times["memory"][1:], times["streamed"][1:])]
    return {"wall": float(np.median(wall)), "cpu": float(np.median(cpu))}


def best(a: dict | None, b: dict) -> dict:
    if a is None:
        return b
    return {k: (max(a[k], b[k]) if k in ("samples_per_s", "cpu_rate") else (b[k] if b["samples_per_s"] >
                                                                               a["samples_per_s"] else a[k]))
            for k in a}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="numpy,torch")
    ap.add_argument("--models", default="tiny,mlp")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="runs per case in the first table (0: skip it)")
    ap.add_argument("--threads", default="1", help="threads of BLAS / torch (default 1)")
    ap.add_argument("--prefetch", choices=["on", "off"], help="read batches in a background thread "
                    "(default: the backend's choice: on for CUDA, tried on a CPU with a core to spare)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--pairs", type=int, default=8, help="interleaved epoch pairs per case (0: skip)")
    ap.add_argument("--device", default=None, help="torch device (default: the backend's choice)")
    args = ap.parse_args()
    global PREFETCH
    PREFETCH = None if args.prefetch is None else args.prefetch == "on"
    with tempfile.TemporaryDirectory() as d:
        streamed, memory = write_sets(d)
        print(f"{N} x {D} uint8 ({N * D / 2**20:.0f} MiB on disk, {N * D * 4 / 2**20:.0f} MiB as float32), "
              f"{SHARDS} shards, batch {args.batch}, best samples/s of epochs 2..{args.epochs}, "
              f"best of {args.repeat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        if args.repeat:  # 0: the interleaved table only
            print(f"{'':<14} {'wall samples/s':^31} {'samples per CPU-second':^31}")
            print(f"{'backend':<8} {'model':<5} {'in memory':>11} {'streamed':>11} {'ratio':>6}  {'in memory':>11} "
                  f"{'streamed':>11} {'ratio':>6} {'waiting':>8} {'load mem':>9} {'load str':>9}")
            worst = worst_cpu = None
            for backend in args.backends.split(","):
                for model in args.models.split(","):
                    runs = {"memory": None, "streamed": None}
                    for k in range(args.repeat):
                        for name, source in (("memory", memory), ("streamed", streamed)):
                            runs[name] = best(runs[name], run_case(source, MODELS[model], backend, args.epochs,
                                                                   args.batch, args.device,
                                                                   os.path.join(d, f"run-{backend}-{model}-{name}-{k}")))
                    m, s = runs["memory"], runs["streamed"]
                    ratio = s["samples_per_s"] / m["samples_per_s"]
                    cpu_ratio = s["cpu_rate"] / m["cpu_rate"]
                    worst = ratio if worst is None else min(worst, ratio)
                    worst_cpu = cpu_ratio if worst_cpu is None else min(worst_cpu, cpu_ratio)
                    wait = "-" if s["waited_share"] is None else f"{100 * s['waited_share']:.1f}%"
                    print(f"{backend:<8} {model:<5} {m['samples_per_s']:>11,.0f} {s['samples_per_s']:>11,.0f} "
                          f"{ratio:>5.2f}x  {m['cpu_rate']:>11,.0f} {s['cpu_rate']:>11,.0f} {cpu_ratio:>5.2f}x "
                          f"{wait:>8} {m['load_s']:>8.2f}s {s['load_s']:>8.2f}s", flush=True)
            print(f"worst ratio streamed / in memory: {worst:.2f}x wall (goal >= 0.8x), {worst_cpu:.2f}x per "
                  f"CPU-second (a read-ahead thread's CPU counts too); load average now {os.getloadavg()[0]:.1f}")
        if args.pairs:
            print(f"\ninterleaved: training epochs alone, in memory and streamed in turn, median of {args.pairs} "
                  f"pairs of streamed rate / in-memory rate")
            print(f"{'backend':<8} {'model':<5} {'wall':>6} {'CPU':>6}")
            for backend in args.backends.split(","):
                for model in args.models.split(","):
                    r = interleaved(memory, streamed, MODELS[model], backend, args.pairs, args.batch, args.device)
                    print(f"{backend:<8} {model:<5} {r['wall']:>5.2f}x {r['cpu']:>5.2f}x", flush=True)
            print(f"load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
