"""Training on npy() streamed data follows the in-memory run exactly (same seed: same batches, same weights),
on NumPy and on torch, where the batches are prepared by a background thread."""
import threading

import numpy as np
import pytest

from specc.data import stream as stream_module
from specc.data.stream import OrderedChunks
from specc.driver import Trainer
from specc.evaluation import evaluate_run
from specc.frontend import compile_text
from streamdata import assert_same_run, image_sets

SPEC = """
model m {
    input v [3, 4, 4]
    flatten
    dense(16); relu
    dense(3); softmax
}
data  { source = %s; split = [0.7, 0.15, 0.15]; scale = 0.01; standardize = per_channel }
train { loss = cross_entropy; optimizer = adam(lr=1e-2); batch = 16; epochs = 3; seed = 4; metrics = [accuracy] }
"""


@pytest.fixture
def sets(tmp_path):
    npy, npz = image_sets(tmp_path, (3, 4, 4))
    return compile_text(SPEC % npy), compile_text(SPEC % npz)


def _train(program, backend, out, prefetch=None):
    options = {"prefetch": prefetch} if prefetch is not None else {}
    return Trainer(program, backend=backend, out=out, plot="off", handle_signals=False, options=options).run()


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_streamed_run_equals_in_memory_run(sets, tmp_path, backend, monkeypatch):
    threads = set()
    read_chunk = OrderedChunks._read_chunk

    def recording(self, k):
        threads.add(threading.current_thread().name)
        return read_chunk(self, k)

    monkeypatch.setattr(OrderedChunks, "_read_chunk", recording)
    monkeypatch.setattr(stream_module, "CHUNK_BYTES", 1)  # a chunk per step: 9 chunks an epoch, read ahead
    if backend == "torch":
        pytest.importorskip("torch")
    streamed, memory = sets
    a = _train(streamed, backend, tmp_path / "s", prefetch=True)
    b = _train(memory, backend, tmp_path / "m")
    assert a.steps == 3 * 9
    assert_same_run(a, b)
    # prefetch=True on a CPU: chunks of steps were read ahead by the thread, and the numbers are the same
    assert any(t.startswith("specc-prefetch") for t in threads), threads
    # eval reads the streamed test split a batch at a time, with the run's saved statistics
    assert evaluate_run(streamed, a.run_dir, backend=backend) == pytest.approx(a.test, rel=1e-6)


def test_prefetch_flag_of_specc_train(tmp_path, cli, monkeypatch):
    """`specc train --prefetch on|off` is the backends' prefetch option, recorded in the manifest; on, the
    chunks after the first are read by the thread."""
    from specc import rundir

    threads = set()
    read_chunk = OrderedChunks._read_chunk
    monkeypatch.setattr(OrderedChunks, "_read_chunk",
                        lambda self, k: threads.add(threading.current_thread().name) or read_chunk(self, k))
    monkeypatch.setattr(stream_module, "CHUNK_BYTES", 1)
    spec = tmp_path / "m.nn"
    spec.write_text(SPEC % image_sets(tmp_path, (3, 4, 4))[0])
    for flag, expected in (("on", True), ("off", False)):
        threads.clear()
        code, _, err = cli("train", spec, "--prefetch", flag, "--quiet", "--no-plot", "--out", tmp_path / flag)
        assert code == 0, err
        assert rundir.read_manifest(tmp_path / flag)["backend_options"]["prefetch"] is expected
        assert any(t.startswith("specc-prefetch") for t in threads) is expected, threads


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_streamed_run_read_ahead_resumes_where_it_stopped(sets, tmp_path, backend, monkeypatch):
    """Interrupted in the middle of an epoch while the thread has the next chunk queued or read, and resumed:
    the same weights, bit for bit, as the run that was never stopped."""
    from specc.checkpoint import load_checkpoint
    from specc.driver import Interrupted

    if backend == "torch":
        pytest.importorskip("torch")
    monkeypatch.setattr(stream_module, "CHUNK_BYTES", 1)  # a chunk per step: one is always read ahead
    streamed, _ = sets
    options = {"prefetch": True}
    full = Trainer(streamed, backend=backend, out=tmp_path / "full", plot="off", handle_signals=False,
                   options=options).run()
    with pytest.raises(Interrupted):
        Trainer(streamed, backend=backend, out=tmp_path / "cut", plot="off", handle_signals=False, options=options,
                interrupt_after=13).run()  # 9 steps an epoch: stopped at step 4 of the second
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.npz").meta["pos"] == 4
    resumed = Trainer(streamed, backend=backend, resume=tmp_path / "cut", plot="off", handle_signals=False,
                      options=options).run()
    assert resumed.steps == full.steps
    for k in full.params:
        np.testing.assert_array_equal(resumed.params[k], full.params[k], err_msg=k)


TOKENS = """
model t {
    input ids [6] int
    embedding(12, 4)
    flatten
    dense(2); softmax
}
data  { source = %s; split = [0.8, 0.2] }
train { loss = cross_entropy; optimizer = adam(lr=1e-2); batch = 8; epochs = 2; seed = 1 }
"""


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_streamed_token_ids_stay_integers(tmp_path, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 12, (64, 6)).astype(np.int32)
    y = (ids[:, 0] > 5).astype(np.int64)
    (tmp_path / "d").mkdir()
    np.save(tmp_path / "d" / "x.npy", ids)
    np.save(tmp_path / "d" / "y.npy", y)
    np.savez(tmp_path / "m.npz", x=ids, y=y)
    streamed = compile_text(TOKENS % f'npy("{tmp_path / "d"}")')
    from specc.data import load_data

    batch = load_data(streamed).train.x[np.arange(5)]
    assert batch.dtype == np.int64
    a = _train(streamed, backend, tmp_path / "s")
    b = _train(compile_text(TOKENS % f'npz("{tmp_path / "m.npz"}")'), backend, tmp_path / "m")
    for k in b.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_streamed_run_with_accumulation_equals_in_memory_run(sets, tmp_path, backend):
    """`accumulate` (issue 13) meets streamed batches (issue 14): an optimizer step reads batch x k
    samples, and the torch prefetch thread queues whole steps."""
    if backend == "torch":
        pytest.importorskip("torch")
    streamed, memory = (compile_text(p.source_text.replace("batch = 16;", "batch = 8; accumulate = 2;"),
                                     p.path) for p in sets)
    a = _train(streamed, backend, tmp_path / "s", prefetch=True)
    b = _train(memory, backend, tmp_path / "m")
    assert a.steps == 3 * 9  # 140 training samples, 16 per step
    assert_same_run(a, b)
