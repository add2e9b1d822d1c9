"""Driver overhead: specc.driver.train vs a bare hand-written loop over the same NumpyBackend.

    python bench/driver_overhead.py [EPOCHS BATCH N]     (default: 20 32 2000)

Both run the same spec, seed and data in this process; the ratio is the cost of
progress, metrics, checkpoints and curves. Prints "same weights: True" when the
driver computes exactly what the bare loop does.
"""
import sys
import tempfile
import time

import numpy as np
from specc.frontend import compile_text
from specc.data import load_data
from specc.init import initial_params
from specc.rng import stream
from specc.schedules import lr_at
from specc import driver
from specc.backends.numpy.backend import NumpyBackend

EPOCHS, BATCH, N = (int(a) for a in (sys.argv[1:4] if len(sys.argv) >= 4 else (20, 32, 2000)))
SPEC = f"""
model m {{
    input x [2]
    dense(64)
    relu
    dense(64)
    relu
    dense(2)
    softmax
}}
data {{
    source = moons(n={N})
    split = [0.8, 0.2, 0]
}}
train {{
    loss = cross_entropy
    optimizer = adam(lr=0.001)
    batch = {BATCH}
    epochs = {EPOCHS}
    metrics = [accuracy]
}}
"""
program = compile_text(SPEC)
data = load_data(program)

def bare():
    t = program.train
    be = NumpyBackend(program, initial_params(program), seed=t.seed)
    be.put_data("train", data.train.x, data.train.y); be.put_data("val", data.val.x, data.val.y)
    n = len(data.train.x); spe = -(-n // t.batch); total = spe * t.epochs; step = 0
    for epoch in range(t.epochs):
        be.set_order(stream(t.seed, "shuffle", epoch).permutation(n))
        hs = []
        for i in range(spe):
            hs.append(be.train_step(i * t.batch, min(n, (i + 1) * t.batch), lr_at(t, step, epoch, spe, total), step))
            step += 1
        be.losses_to_numpy(hs)
        be.evaluate("val", 512)
    return be.get_params()

def full():
    with tempfile.TemporaryDirectory() as d:
        return driver.train(program, out=d + "/run", data=data, handle_signals=False).params

times = {}
for fn in (bare, full, bare, full):  # the second round is warm
    t0 = time.perf_counter()
    fn()
    times[fn.__name__] = time.perf_counter() - t0
    print(f"{fn.__name__:5s} {times[fn.__name__]:7.3f} s")
print(f"driver / bare loop: {times['full'] / times['bare']:.2f}x  ({EPOCHS} epochs, batch {BATCH}, {N} samples)")
a, b = bare(), full()
print("same weights:", all(np.array_equal(a[k], b[k]) for k in a))
