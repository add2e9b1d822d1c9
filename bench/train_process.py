"""Whole-process time of a short `specc train` against a hand-written NumPy script (issue 17, item 9).

    python bench/train_process.py [REPEATS]     (default 5)

A 784-100-10 MLP, 3 epochs of SGD (batch 32) on 6,000 samples saved as an .npz.
Both sides are fresh Python processes timed from start to exit, in this run:
`specc train --quiet` (NumPy backend, all run files; curves.png drawn in the
background after the result is printed) and, separately, with --no-plot; the
baseline loads the .npz, trains the same network with hand-written NumPy and
saves its weights. Last, `python -m specc.curves RUN` alone: what drawing the
curves costs, which no longer delays the result. Prints medians and the ratios
to the baseline.
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPEATS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
N, D, H, K, EPOCHS, BATCH, LR = 6000, 784, 100, 10, 3, 32, 0.05

SPEC = f"""
model mlp {{
    input x [{D}]
    dense({H}); relu
    dense({K}); softmax
}}
data {{ source = npz("data.npz"); split = [1.0, 0.0, 0.0] }}
train {{ loss = cross_entropy; optimizer = sgd(lr={LR}); batch = {BATCH}; epochs = {EPOCHS}; seed = 0 }}
"""

BASELINE = f"""
import numpy as np
z = np.load("data.npz"); x = z["x"].astype(np.float32); y = z["y"].astype(np.int64)
rng = np.random.default_rng(0)
w1 = (rng.standard_normal(({D}, {H})) * np.sqrt(2 / {D})).astype(np.float32); b1 = np.zeros({H}, np.float32)
w2 = (rng.standard_normal(({H}, {K})) * np.sqrt(2 / {H})).astype(np.float32); b2 = np.zeros({K}, np.float32)
n = len(x)
for epoch in range({EPOCHS}):
    order = rng.permutation(n)
    for i in range(0, n, {BATCH}):
        idx = order[i:i + {BATCH}]; xb, yb = x[idx], y[idx]
        h = np.maximum(xb @ w1 + b1, 0); z2 = h @ w2 + b2
        p = np.exp(z2 - z2.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
        d2 = p; d2[np.arange(len(yb)), yb] -= 1; d2 /= len(yb)
        dh = (d2 @ w2.T) * (h > 0)
        w2 -= {LR} * (h.T @ d2); b2 -= {LR} * d2.sum(0)
        w1 -= {LR} * (xb.T @ dh); b1 -= {LR} * dh.sum(0)
np.savez("baseline_weights.npz", w1=w1, b1=b1, w2=w2, b2=b2)
"""


def timed(cmd, cwd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(1)
        np.savez(tmp / "data.npz", x=rng.random((N, D), dtype=np.float32), y=rng.integers(0, K, N))
        (tmp / "mlp.nn").write_text(SPEC)
        (tmp / "baseline.py").write_text(BASELINE)
        runs = {"baseline": [], "specc": [], "specc --no-plot": []}
        for r in range(REPEATS):  # interleaved, so a slow moment hits every side alike
            runs["baseline"].append(timed([sys.executable, "baseline.py"], tmp))
            runs["specc"].append(timed([sys.executable, "-m", "specc", "train", "mlp.nn", "--quiet",
                                        "--out", f"run{r}"], tmp))
            runs["specc --no-plot"].append(timed([sys.executable, "-m", "specc", "train", "mlp.nn", "--quiet",
                                                  "--no-plot", "--out", f"np{r}"], tmp))
        time.sleep(3)  # let the last background curves.png finish before the directory goes
        # what drawing curves.png costs a process (import matplotlib + render): moved off the result's path
        runs["curves.png alone"] = [timed([sys.executable, "-m", "specc.curves", f"run{r}"], tmp)
                                    for r in range(REPEATS)]
        base = statistics.median(runs["baseline"])
        print(f"{N} samples, {D}-{H}-{K} MLP, {EPOCHS} epochs, batch {BATCH}; median of {REPEATS} processes")
        for name, times in runs.items():
            med = statistics.median(times)
            print(f"  {name:<16} {med:6.3f} s   {med / base:5.2f}x baseline")
        assert (tmp / "run0" / "curves.png").exists(), "curves.png was not drawn"


if __name__ == "__main__":
    main()
