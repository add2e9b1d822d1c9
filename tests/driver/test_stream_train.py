"""Training on npy() streamed data follows the in-memory run exactly (same seed: same batches, same weights),
on NumPy and on torch, where the batches are prepared by a background thread."""
import threading

import numpy as np
import pytest

from specc.driver import Trainer
from specc.evaluation import evaluate_run
from specc.frontend import compile_text
from streamdata import image_sets

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
    options = {"prefetch": prefetch} if backend == "torch" and prefetch is not None else {}
    return Trainer(program, backend=backend, out=out, plot="off", handle_signals=False, options=options).run()


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_streamed_run_equals_in_memory_run(sets, tmp_path, backend, monkeypatch):
    if backend == "torch":
        pytest.importorskip("torch")
        from specc.backends.torch.backend import TorchBackend

        threads = set()
        prepare = TorchBackend._prepare_streamed

        def recording(self, key):
            threads.add(threading.current_thread().name)
            return prepare(self, key)

        monkeypatch.setattr(TorchBackend, "_prepare_streamed", recording)
    streamed, memory = sets
    a = _train(streamed, backend, tmp_path / "s", prefetch=True)
    b = _train(memory, backend, tmp_path / "m")
    assert a.steps == b.steps == 3 * 9
    for k in b.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)
    assert [r["train_loss"] for r in a.history] == [r["train_loss"] for r in b.history]
    assert a.test == b.test
    if backend == "torch":  # prefetch=True (the default on CUDA): batches were read ahead by the thread
        assert any(t.startswith("specc-prefetch") for t in threads), threads
    # eval reads the streamed test split a batch at a time, with the run's saved statistics
    assert evaluate_run(streamed, a.run_dir, backend=backend) == pytest.approx(a.test, rel=1e-6)


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
    assert a.steps == b.steps == 3 * 9  # 140 training samples, 16 per step
    for k in b.params:
        np.testing.assert_array_equal(a.params[k], b.params[k], err_msg=k)
    assert [r["train_loss"] for r in a.history] == [r["train_loss"] for r in b.history]
