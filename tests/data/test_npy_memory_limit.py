"""npy() trains on a set larger than the memory the process may use.

A child process limits its private memory (RLIMIT_DATA: heap and anonymous
mappings; a read-only memory-mapped file does not count) to 48 MiB above what it
holds after importing specc, then trains on 100,000 samples of 784 uint8 values:
75 MiB on disk, 300 MiB as float32. The same data from an .npz archive (loaded
whole) fails under the same limit, which shows the limit bites.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

N, D = 100_000, 784

CHILD = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from specc.driver import Trainer
    from specc.frontend import compile_text

    def vm_data():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmData:"))

    spec = '''
    model m {
        input v [784]
        dense(10); softmax
    }
    data  { source = %s; split = [0.9, 0.1]; scale = 0.0039; standardize = true }
    train { loss = cross_entropy; optimizer = sgd(lr=0.1); batch = 500; epochs = 1; seed = 0; metrics = [accuracy] }
    '''
    program = compile_text(spec % sys.argv[1])
    np.ones((256, 256), np.float32) @ np.ones((256, 256), np.float32)  # BLAS allocates its buffers once, here
    limit = vm_data() + (48 << 20)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, resource.RLIM_INFINITY))
    try:
        result = Trainer(program, backend="numpy", out=sys.argv[2], plot="off", handle_signals=False,
                         options={"prefetch": sys.argv[3] == "on"}).run()
    except MemoryError:
        print("MemoryError")
        sys.exit(0)
    print("trained", result.steps, result.test["accuracy"])
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_DATA counts anonymous mappings on Linux")
def test_trains_on_more_data_than_the_memory_limit(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, N)
    d = tmp_path / "d"
    d.mkdir()
    x = np.lib.format.open_memmap(d / "x.npy", mode="w+", dtype=np.uint8, shape=(N, D))
    for i in range(0, N, 10_000):  # class-dependent pixels, written in pieces (the test holds no full copy)
        part = rng.integers(0, 200, (min(10_000, N - i), D), dtype=np.uint8)
        part[:, :10] = np.where(np.arange(10) == y[i:i + len(part), None], 255, 0)
        x[i:i + len(part)] = part
    x.flush()
    del x
    np.save(d / "y.npy", y)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def child(source, out, prefetch="off"):
        done = subprocess.run([sys.executable, "-c", CHILD, source, str(tmp_path / out), prefetch],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.split()

    for prefetch in ("off", "on"):  # on: a thread reads a chunk ahead, within the same limit
        streamed = child(f'npy("{d}")', f"s-{prefetch}", prefetch)
        assert streamed[:2] == ["trained", str(-(-90_000 // 500))], (prefetch, streamed)
        assert float(streamed[2]) > 0.9  # it learned: the first ten pixels name the class

    np.savez(tmp_path / "m.npz", x=np.load(d / "x.npy", mmap_mode="r"), y=y)
    assert child(f'npz("{tmp_path / "m.npz"}")', "m") == ["MemoryError"]
