"""The prefetch thread of streamed data (backends/torch/prefetch.py): batches asked for next are prepared by the
worker; a new order drops them; without the thread the caller prepares each one. On a CPU device the thread reads
chunks of steps instead (data.stream.ReadAhead), by default when a core is spare (tests/data/test_npy_stream.py)."""
import threading

import pytest

pytest.importorskip("torch")

from specc.backends.torch.prefetch import Prefetcher  # noqa: E402


def _recording():
    seen = []

    def prepare(key):
        seen.append((key, threading.current_thread().name))
        return key

    return prepare, seen


def test_upcoming_batches_are_prepared_by_the_worker():
    prepare, seen = _recording()
    p = Prefetcher(prepare, depth=2)
    assert p.get(("order", 0, 4), [("order", 4, 8), ("order", 8, 12), ("order", 12, 16)]) == ("order", 0, 4)
    p.pending[("order", 4, 8)].result()
    p.pending[("order", 8, 12)].result()
    assert set(p.pending) == {("order", 4, 8), ("order", 8, 12)}  # depth 2: the third is not queued yet
    assert p.get(("order", 4, 8), [("order", 8, 12)]) == ("order", 4, 8)
    workers = {key: name for key, name in seen}
    assert workers[("order", 0, 4)] == threading.current_thread().name  # nobody predicted the first one
    assert workers[("order", 4, 8)].startswith("specc-prefetch")
    p.reset()  # a new epoch order: what was read for the old one is dropped
    assert p.pending == {}
    p.close()


def test_without_the_thread_every_batch_is_prepared_by_the_caller():
    prepare, seen = _recording()
    p = Prefetcher(prepare, threaded=False)
    assert p.get(("val", 0, 8), [("val", 8, 16)]) == ("val", 0, 8)
    assert seen == [(("val", 0, 8), threading.current_thread().name)] and p.pending == {} and p.pool is None


def test_the_backend_reads_batches_ahead_on_cuda_and_chunks_on_cpu():
    import numpy as np

    from specc.backends.torch.backend import TorchBackend
    from specc.frontend import compile_text
    from specc.init import initial_params

    program = compile_text("model m {\n input x [2]\n dense(2); softmax\n}\n"
                           "train { loss = cross_entropy; optimizer = sgd(lr=0.1) }\n")
    params = {k: np.asarray(v) for k, v in initial_params(program).items()}
    told = TorchBackend(program, params, seed=0, device="cpu", prefetch=True)
    assert told._reads.reader is not None and not told._prefetch.threaded  # nothing to pin on a CPU
    off = TorchBackend(program, params, seed=0, device="cpu", prefetch=False)
    assert off._reads.reader is None and not off._prefetch.threaded
    assert off.data_wait_s == 0.0
