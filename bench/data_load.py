"""Time and peak memory of specc's data loaders against the libraries' own readers, same run.

Sections (all by default; `--only csv,parquet,images,idx`):

  csv      a generated 200,000 x 51 CSV (50 float features, an integer target; ~82 MB):
           specc's csv() reader (pyarrow inside) against pandas.read_csv (C engine) and
           pyarrow.csv.read_csv, each ending in what a trainer needs (a float array + targets);
           also the pure-Python reader specc used before (the fallback without pyarrow).
           Goal: within 1.5x of the faster library, peak memory <= 2x the float32 array.
  parquet  the same table as Parquet: specc's parquet() against pyarrow.parquet and pandas.
  images   10,000 PNGs of 32x32 RGB in 10 class folders: specc's images() (a thread pool)
           against a plain Pillow loop (open, convert, np.asarray into one array).
  idx      a 60,000 x 784 uint8 MNIST-sized IDX set through load_data (scale, standardize,
           .gz) against np.fromfile(...).astype(float32).

Times are wall-clock (what a user waits; libraries may use several threads) and CPU
seconds of the process (all its threads; steadier than wall time on a loaded machine).
Every case runs in a fresh child process (so one case's freed memory cannot hide
another's peak); the child reports the best time of `--repeat` runs and the peak
resident memory of its first run above what it held before (Linux: /proc/self/status,
VmHWM reset through /proc/self/clear_refs; allocators keep freed memory, so later
runs in the same process would measure the allocator, not the loader).

    python bench/data_load.py [--repeat 3] [--only csv,parquet]
"""
from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

ROWS, FEATURES = 200_000, 50
N_IMAGES, IMAGE = 10_000, 32
MNIST_N = 60_000


# ---- data generation ------------------------------------------------------------

def write_table(d: str) -> tuple[str, str]:
    """The CSV (5 significant digits, like a typical export) and the same table as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, FEATURES))
    y = rng.integers(0, 10, ROWS)
    csv_path, pq_path = os.path.join(d, "table.csv"), os.path.join(d, "table.parquet")
    with open(csv_path, "w") as f:
        f.write(",".join([f"f{i}" for i in range(FEATURES)] + ["y"]) + "\n")
        np.savetxt(f, np.column_stack([x, y]), fmt=["%.5g"] * FEATURES + ["%d"], delimiter=",")
    cols = {f"f{i}": x[:, i] for i in range(FEATURES)}
    cols["y"] = y
    pq.write_table(pa.table(cols), pq_path)
    return csv_path, pq_path


def write_images(d: str) -> str:
    from PIL import Image
    rng = np.random.default_rng(0)
    root = os.path.join(d, "images")
    for c in range(10):
        os.makedirs(os.path.join(root, f"class{c}"))
    for i in range(N_IMAGES):
        a = rng.integers(0, 256, (IMAGE, IMAGE, 3), dtype=np.uint8)
        Image.fromarray(a).save(os.path.join(root, f"class{i % 10}", f"{i:05d}.png"), compress_level=1)
    return root


def write_idx(d: str) -> str:
    rng = np.random.default_rng(0)
    x = np.zeros((MNIST_N, 28, 28), np.uint8)
    x[:, 6:22, 6:22] = rng.integers(0, 256, (MNIST_N, 16, 16), dtype=np.uint8) * (rng.random((MNIST_N, 16, 16)) < 0.4)
    y = rng.integers(0, 10, MNIST_N).astype(np.uint8)
    img = bytes([0, 0, 8, 3]) + struct.pack(">III", MNIST_N, 28, 28) + x.tobytes()
    lab = bytes([0, 0, 8, 1]) + struct.pack(">I", MNIST_N) + y.tobytes()
    for sub in ("plain", "gz"):
        os.makedirs(os.path.join(d, "mnist", sub))
    for name, data in (("train-images-idx3-ubyte", img), ("train-labels-idx1-ubyte", lab)):
        with open(os.path.join(d, "mnist", "plain", name), "wb") as f:
            f.write(data)
        with gzip.open(os.path.join(d, "mnist", "gz", name + ".gz"), "wb", compresslevel=6) as f:
            f.write(data)
    return os.path.join(d, "mnist")


# ---- the cases (run inside a child process) ---------------------------------------

def _pandas_csv(path):
    import pandas as pd
    df = pd.read_csv(path)  # the C engine (pandas' default)
    return df.iloc[:, :-1].to_numpy(np.float32), df.iloc[:, -1].to_numpy()


def _pyarrow_csv(path):
    import pyarrow.csv as pcsv
    t = pcsv.read_csv(path)
    x = np.column_stack([t.column(i).to_numpy() for i in range(t.num_columns - 1)]).astype(np.float32)
    return x, t.column(t.num_columns - 1).to_numpy()


def _pyarrow_parquet(path):
    import pyarrow.parquet as pq
    t = pq.read_table(path)
    x = np.column_stack([t.column(i).to_numpy() for i in range(t.num_columns - 1)]).astype(np.float32)
    return x, t.column(t.num_columns - 1).to_numpy()


def _pandas_parquet(path):
    import pandas as pd
    df = pd.read_parquet(path)
    return df.iloc[:, :-1].to_numpy(np.float32), df.iloc[:, -1].to_numpy()


def _pillow_loop(root):
    from PIL import Image
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(root) for f in fs)
    x = np.empty((len(files), 3, IMAGE, IMAGE), np.uint8)
    for i, f in enumerate(files):
        with Image.open(f) as im:
            x[i] = np.asarray(im.convert("RGB")).transpose(2, 0, 1)
    return x


def _specc_images(root):
    from specc.data.images import load_images
    return load_images(root, (IMAGE, IMAGE), 3).x


def _mnist_program(directory, standardize, val=0.0):
    """Compiled from text, so the bench follows the IR whatever its shape."""
    from specc.frontend import compile_text
    return compile_text(f"""
model mlp {{
    input image [784]
    dense(10)
    softmax
}}
data {{ train = mnist("{directory}"); scale = {1 / 255!r}; standardize = {str(standardize).lower()}; val = {val} }}
train {{ loss = cross_entropy; optimizer = sgd(lr=0.1) }}
""")


def _idx_baseline(d):
    x = np.fromfile(os.path.join(d, "plain", "train-images-idx3-ubyte"), np.uint8, offset=16).reshape(MNIST_N, 784)
    x = x.astype(np.float32)
    x *= np.float32(1 / 255)
    return x


def _load_data(program):
    from specc.data import load_data
    return load_data(program)


def case(name: str, arg: str):
    """name -> a function of no arguments doing one load."""
    from specc.data import csvfile
    from specc.data.parquet import load_parquet
    table = {
        "csv specc": lambda: csvfile.load_csv(arg),
        "csv pandas.read_csv": lambda: _pandas_csv(arg),
        "csv pyarrow.csv.read_csv": lambda: _pyarrow_csv(arg),
        "csv specc without pyarrow": lambda: csvfile._load_exact(arg, None, ",", True, None),
        "parquet specc": lambda: load_parquet(arg),
        "parquet pyarrow.parquet": lambda: _pyarrow_parquet(arg),
        "parquet pandas.read_parquet": lambda: _pandas_parquet(arg),
        "images specc": lambda: _specc_images(arg),
        "images Pillow loop": lambda: _pillow_loop(arg),
        "idx baseline fromfile+astype": lambda: _idx_baseline(arg),
        "idx load_data plain, scale": lambda: _load_data(_mnist_program(os.path.join(arg, "plain"), False)),
        "idx load_data plain, scale+std": lambda: _load_data(_mnist_program(os.path.join(arg, "plain"), True)),
        "idx load_data .gz, scale": lambda: _load_data(_mnist_program(os.path.join(arg, "gz"), False)),
    }
    return table[name]


def _status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def child(name: str, arg: str, repeat: int) -> None:
    fn = case(name, arg)
    import pandas  # noqa: F401  (imported up front by every case: its import is not load memory)
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    gc.collect()
    before = _status("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak (VmHWM) to the current RSS
    except OSError:
        pass
    times, cpus, peak = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        peak = peak if peak is not None else _status("VmHWM") - before  # the first load, as a user meets it
        del out
        gc.collect()
    print(json.dumps({"time": min(times), "cpu": min(cpus), "peak": peak}))


def run_case(name: str, arg: str, repeat: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", name, arg, "--repeat", str(repeat)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def section(title: str, rows: list[tuple[str, str]], repeat: int, unit_bytes: int | None, per_item: int | None = None):
    """Run the rows; ratios are against the first row (specc's own loader)."""
    print(f"\n{title}")
    head = f"{'case':36s} {'time s':>8s} {'vs specc':>9s} {'CPU s':>7s} {'vs specc':>9s} {'peak MB':>8s}"
    head += f" {'x array':>8s}" if unit_bytes else ""
    head += f" {'items/s':>9s}" if per_item else ""
    print(head)
    results = {}
    for name, arg in rows:
        r = run_case(name, arg, repeat if "without pyarrow" not in name else 1)
        results[name] = r
        base = results[rows[0][0]]["time"]
        cpu = results[rows[0][0]]["cpu"]
        line = (f"{name:36s} {r['time']:8.3f} {r['time'] / base:9.2f} {r['cpu']:7.3f} {r['cpu'] / cpu:9.2f} "
                f"{r['peak'] / 1e6:8.0f}")
        line += f" {r['peak'] / unit_bytes:8.2f}" if unit_bytes else ""
        line += f" {per_item / r['time']:9.0f}" if per_item else ""
        print(line, flush=True)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="csv,parquet,images,idx")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.repeat)
        return 0
    only = set(args.only.split(","))
    array = ROWS * FEATURES * 4
    with tempfile.TemporaryDirectory() as d:
        if only & {"csv", "parquet"}:
            csv_path, pq_path = write_table(d)
            print(f"table {ROWS} x {FEATURES + 1}: CSV {os.path.getsize(csv_path) / 1e6:.0f} MB, Parquet "
                  f"{os.path.getsize(pq_path) / 1e6:.0f} MB; the float32 array is {array / 1e6:.0f} MB; "
                  f"best of {args.repeat}, each case in a fresh process")
        if "csv" in only:
            section("CSV", [("csv specc", csv_path), ("csv pandas.read_csv", csv_path),
                            ("csv pyarrow.csv.read_csv", csv_path), ("csv specc without pyarrow", csv_path)],
                    args.repeat, array)
        if "parquet" in only:
            section("Parquet", [("parquet specc", pq_path), ("parquet pyarrow.parquet", pq_path),
                                ("parquet pandas.read_parquet", pq_path)], args.repeat, array)
        if "images" in only:
            root = write_images(d)
            section(f"{N_IMAGES} PNGs {IMAGE}x{IMAGE} RGB, {os.cpu_count()} CPUs",
                    [("images specc", root), ("images Pillow loop", root)], args.repeat, None, N_IMAGES)
        if "idx" in only:
            mnist = write_idx(d)
            section(f"MNIST-sized IDX {MNIST_N} x 28x28 uint8 -> float32",
                    [("idx load_data plain, scale", mnist), ("idx baseline fromfile+astype", mnist),
                     ("idx load_data plain, scale+std", mnist), ("idx load_data .gz, scale", mnist)],
                    args.repeat, MNIST_N * 784 * 4)
    return 0


if __name__ == "__main__":
    sys.exit(main())
