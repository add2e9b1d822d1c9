"""npy(dir): memory-mapped inputs gathered per batch give exactly the in-memory batches; bad files are named."""
import numpy as np
import pytest

from specc.data import load_data
from specc.data.preprocess import mean_std, mean_std_per_channel
from specc.data import stream as stream_module
from specc.data.stream import EpochReads, OrderedChunks, ReadAhead, Shards, StreamedArray, is_streamed
from specc.errors import DataError
from specc.ir import DataSpec, InputPrep, Source
from specc.rng import stream


def _write(tmp_path, x, y, shards=None):
    """The same data as a directory for npy() (x.npy, or shards x/part-k.npy) and as an npz archive."""
    d = tmp_path / "d"
    d.mkdir()
    if shards:
        (d / "x").mkdir()
        for k, part in enumerate(np.array_split(x, shards)):
            np.save(d / "x" / f"part-{k}.npy", part)
    else:
        np.save(d / "x.npy", x)
    np.save(d / "y.npy", y)
    np.savez(tmp_path / "m.npz", x=x, y=y)
    return str(d), str(tmp_path / "m.npz")


def _pair(program, d, npz, shape=(6,), **data):
    prep = {k: data.pop(k) for k in ("scale", "standardize") if k in data}
    if prep:
        data["prep"] = (InputPrep("x", **prep),)
    streamed = load_data(program(DataSpec(source=Source("npy", {"dir": d}), **data), input_shape=shape,
                                 output_shape=(3,)))
    memory = load_data(program(DataSpec(source=Source("npz", {"path": npz}), **data), input_shape=shape,
                               output_shape=(3,)))
    return streamed, memory


def test_shards_read_as_one_array(tmp_path):
    x = np.arange(50 * 3, dtype=np.int16).reshape(50, 3)
    parts = [x[:7], x[7:30], x[30:]]
    for k, p in enumerate(parts):
        np.save(tmp_path / f"{k}.npy", p)
    s = Shards([np.load(tmp_path / f"{k}.npy", mmap_mode="r") for k in range(3)],
               [str(tmp_path / f"{k}.npy") for k in range(3)])
    assert s.shape == (50, 3) and len(s) == 50 and s.dtype == np.int16
    idx = np.random.default_rng(0).permutation(50)[:20]
    np.testing.assert_array_equal(s[idx], x[idx])
    np.testing.assert_array_equal(s[5:33], x[5:33])
    assert s.where(7) == (str(tmp_path / "1.npy"), 0) and s.where(49) == (str(tmp_path / "2.npy"), 19)
    np.testing.assert_array_equal(s.reshape(50, -1)[[1, 40]], x[[1, 40]])


@pytest.mark.parametrize("shards", [None, 4])
def test_streamed_batches_are_the_in_memory_batches(tmp_path, program, shards):
    rng = np.random.default_rng(1)
    x = (rng.random((300, 6)) * 200).astype(np.uint8)
    y = rng.integers(0, 3, 300)
    d, npz = _write(tmp_path, x, y, shards)
    streamed, memory = _pair(program, d, npz, split=(0.7, 0.15, 0.15), scale=0.5, standardize=True)
    assert is_streamed(streamed.train.x) and isinstance(memory.train.x, np.ndarray)
    np.testing.assert_array_equal(streamed.preprocess.mean, memory.preprocess.mean)
    np.testing.assert_array_equal(streamed.preprocess.std, memory.preprocess.std)
    order = stream(0, "shuffle", 0).permutation(len(memory.train))
    for start in range(0, len(order), 32):  # the driver's batches: train[order[start:stop]]
        np.testing.assert_array_equal(streamed.train.x[order[start:start + 32]], memory.train.x[order[start:start + 32]])
    for name in ("train", "val", "test"):
        s, m = getattr(streamed, name), getattr(memory, name)
        assert s.x.shape == m.x.shape and s.x.dtype == m.x.dtype == np.float32
        np.testing.assert_array_equal(s.x[:], m.x)
        np.testing.assert_array_equal(s.y, m.y)


def test_per_channel_statistics_in_one_pass_match_in_memory(tmp_path, program):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 255, (120, 3, 4, 4)).astype(np.uint8)
    y = rng.integers(0, 3, 120)
    d, npz = _write(tmp_path, x, y, shards=3)
    streamed, memory = _pair(program, d, npz, shape=(3, 4, 4), standardize="per_channel")
    assert streamed.preprocess.mean.shape == (3, 1, 1)
    np.testing.assert_array_equal(streamed.preprocess.mean, memory.preprocess.mean)
    np.testing.assert_array_equal(streamed.preprocess.std, memory.preprocess.std)
    np.testing.assert_array_equal(streamed.train.x[:], memory.train.x)


def test_one_pass_statistics_are_accurate():
    """Chunks merged in float64: a large offset with a small spread loses nothing (E[x^2]-E[x]^2 would)."""
    rng = np.random.default_rng(3)
    x = (1e4 + rng.standard_normal((5000, 3))).astype(np.float32)
    mean, std = mean_std(x)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(0), rtol=1e-7)
    np.testing.assert_allclose(std, x.astype(np.float64).std(0), rtol=1e-6)
    img = rng.random((2100, 2, 3, 3)).astype(np.float32) * [[[5.0]], [[0.1]]]
    mean, std = mean_std_per_channel(img)
    ref = img.astype(np.float64).transpose(1, 0, 2, 3).reshape(2, -1)
    np.testing.assert_allclose(mean.ravel(), ref.mean(1), rtol=1e-6)
    np.testing.assert_allclose(std.ravel(), ref.std(1), rtol=1e-6)


def test_streamed_array_reads_and_views(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(20, dtype=np.uint8).reshape(10, 2))
    src = np.load(tmp_path / "a.npy", mmap_mode="r")
    from specc.data.preprocess import Preprocess

    s = StreamedArray(src, np.array([1, 3, 5, 7]), Preprocess(scale=0.5))
    assert s.shape == (4, 2) and s.nbytes == 32 and len(s) == 4
    np.testing.assert_array_equal(s[np.array([2, 0])], [[5.0, 5.5], [1.0, 1.5]])
    np.testing.assert_array_equal(s[1:3], [[3.0, 3.5], [5.0, 5.5]])
    assert s.astype(np.float64)[:1].dtype == np.float64
    assert s.reshape(4, -1).shape == (4, 2)
    np.testing.assert_array_equal(np.asarray(s), s[:])


def test_ordered_chunks_give_the_per_batch_reads(tmp_path, program, monkeypatch):
    """Batches read a chunk of several batches at a time are exactly split[order[lo:hi]]: every batch
    of an epoch, a request that straddles two chunks, and two threads asking at once."""
    import threading

    rng = np.random.default_rng(5)
    x = (rng.random((500, 6)) * 200).astype(np.uint8)
    y = rng.integers(0, 3, 500)
    d, npz = _write(tmp_path, x, y, shards=3)
    streamed, memory = _pair(program, d, npz, split=(0.8, 0.2), scale=0.5, standardize=True)
    monkeypatch.setattr(stream_module, "CHUNK_BYTES", 7 * 28 * 16)  # 7 batches of 16 samples of 6 + 1 values
    order = stream(0, "shuffle", 0).permutation(len(memory.train))
    chunks = OrderedChunks([streamed.train.x, streamed.train.y], order, 16)
    assert chunks.rows == 7 * 16
    reads = {}

    def read_all(lo):
        for start in range(lo, len(order), 32):
            reads[start] = chunks.read(start, min(start + 16, len(order)))

    threads = [threading.Thread(target=read_all, args=(lo,)) for lo in (0, 16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reads) == -(-len(order) // 16)
    for start, (bx, by) in reads.items():
        rows = order[start:start + 16]
        np.testing.assert_array_equal(bx, memory.train.x[rows])
        np.testing.assert_array_equal(by, memory.train.y[rows])
    assert len(chunks._chunks) <= chunks.keep
    bx, by = chunks.read(100, 130)  # across the chunk boundary at 112: read on its own
    np.testing.assert_array_equal(bx, memory.train.x[order[100:130]])
    unchunked = OrderedChunks([streamed.train.x], order, 0)  # DDP ranks: every batch on its own
    np.testing.assert_array_equal(unchunked.read(3, 40)[0], memory.train.x[order[3:40]])


def test_read_ahead_gives_the_same_batches_from_its_thread(tmp_path, program, monkeypatch):
    """With a ReadAhead, chunks after the first are read by its thread, and every batch is still
    exactly split[order[lo:hi]]."""
    import threading

    rng = np.random.default_rng(6)
    x = (rng.random((400, 6)) * 200).astype(np.uint8)
    d, npz = _write(tmp_path, x, rng.integers(0, 3, 400), shards=3)
    streamed, memory = _pair(program, d, npz, split=(0.8, 0.2), scale=0.5, standardize=True)
    monkeypatch.setattr(stream_module, "CHUNK_BYTES", 28 * 16)  # read ahead (twice as big): 2 batches of 16
    readers = []
    read_chunk = OrderedChunks._read_chunk
    monkeypatch.setattr(OrderedChunks, "_read_chunk",
                        lambda self, k: readers.append((k, threading.current_thread().name)) or read_chunk(self, k))
    order = stream(0, "shuffle", 1).permutation(len(memory.train))
    reader = ReadAhead(depth=2)
    chunks = OrderedChunks([streamed.train.x, streamed.train.y], order, 16, reader=reader)
    for lo in range(0, len(order), 16):
        bx, by = chunks.read(lo, min(lo + 16, len(order)))
        np.testing.assert_array_equal(bx, memory.train.x[order[lo:lo + 16]])
        np.testing.assert_array_equal(by, memory.train.y[order[lo:lo + 16]])
        assert len(chunks._chunks) <= chunks.keep
    reader.close()
    assert sorted(k for k, _ in readers) == list(range(chunks.count)) and chunks.count == 10  # each read once
    names = dict(readers)
    assert names[0] == threading.current_thread().name  # nobody read the first one ahead
    assert any(name.startswith("specc-prefetch") for name in names.values()), readers
    assert reader.waited >= 0.0


def test_chunks_are_read_ahead_by_default_when_a_core_is_spare(monkeypatch):
    """Default: a read-ahead thread only when the process may use more CPUs than the math library's threads
    (torch.get_num_threads(); for NumPy what BLAS reads from the environment, else one per CPU)."""
    from specc.backends.numpy import backend as numpy_backend

    monkeypatch.setattr(stream_module, "usable_cpus", lambda: 4)  # the process may use 4 CPUs
    assert stream_module.reads_ahead(None, 4) is False  # the math threads fill the cores: the step reads
    assert stream_module.reads_ahead(None, 2) == "tune"  # a core looks spare: the thread is tried
    assert stream_module.reads_ahead(True, 4) is True and stream_module.reads_ahead(False, 1) is False
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(numpy_backend.os, "cpu_count", lambda: 4)
    assert numpy_backend.blas_threads() == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "2,1")  # OpenMP's nested form: the outer count
    assert numpy_backend.blas_threads() == 2
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert numpy_backend.blas_threads() == 1


def test_read_ahead_on_trial_alternates_then_keeps_the_faster_way():
    reader = ReadAhead(tune=True)
    modes = [reader.next_mode() for _ in range(3 * stream_module.PROBE_BLOCK)]
    block = stream_module.PROBE_BLOCK
    assert modes == [True] * block + [False] * block + [True] * block  # blocks with, then without, the thread
    for _ in range(stream_module.PROBE_SAMPLES):
        assert reader.decided is None
        reader.record(True, 0.010)
        reader.record(False, 0.0102)  # 2% slower without: not enough to keep a thread
    assert reader.decided is False and reader.next_mode() is False
    faster = ReadAhead(tune=True)
    for _ in range(stream_module.PROBE_SAMPLES):
        faster.record(True, 0.008)
        faster.record(False, 0.010)
    assert faster.decided is True and faster.next_mode() is True
    assert ReadAhead().decided is True  # not on trial: always on


class _Timed:
    """An array-like whose reads cost `seconds` per row, sleeping (as NumPy's copies release the GIL) or
    computing in Python (holding it)."""

    def __init__(self, n, seconds, releases_gil):
        self.shape, self.seconds, self.releases_gil = (n, 2), seconds, releases_gil

    def __getitem__(self, rows):
        _work(self.seconds * len(rows), self.releases_gil)
        return np.stack([rows, rows], axis=1).astype(np.float32)


def _work(seconds, releases_gil):
    import time

    if releases_gil:
        time.sleep(seconds)
    else:
        end = time.thread_time() + seconds  # this thread's own CPU time: another thread holding the GIL does not count
        while time.thread_time() < end:
            pass


@pytest.mark.parametrize("releases_gil", [True, False])
def test_the_trial_keeps_the_thread_only_where_it_overlaps_the_steps(monkeypatch, releases_gil):
    """Reads and steps that can run at once (sleeps) keep the thread; when only one can run at a time
    (both hold the GIL, as on a core that is not spare) the thread is dropped, and later epochs read in
    the training thread."""
    monkeypatch.setattr(stream_module, "CHUNK_BYTES", 2 * 4 * 4)  # read ahead: 8 rows a chunk
    n = 8 * (2 * stream_module.PROBE_BLOCK * stream_module.PROBE_SAMPLES // stream_module.PROBE_BLOCK + 4)
    arrays = [_Timed(n, 0.0005, releases_gil)]
    reads = EpochReads("tune")
    order = np.arange(n)
    chunks = reads.epoch(arrays, order, 4)
    for lo in range(0, n, 4):
        chunks.read(lo, lo + 4)
        _work(0.002, releases_gil)  # a step
    assert reads.reader.decided is releases_gil
    reads.reset()
    assert (reads.epoch(arrays, order, 4).reader is not None) is releases_gil


class _Rows:
    """An array-like whose reads block until `gate` is set and fail on row `bad`."""

    def __init__(self, n, bad=None, gate=None):
        self.shape, self.bad, self.gate = (n, 2), bad, gate

    def __getitem__(self, rows):
        if self.gate is not None:
            self.gate.wait(5)
        if self.bad is not None and self.bad in rows:
            raise ValueError(f"row {self.bad} is unreadable")
        return np.stack([rows, rows], axis=1).astype(np.float32)


def test_a_queued_chunk_is_read_by_the_caller_and_a_new_order_cancels_the_rest(monkeypatch):
    import threading

    monkeypatch.setattr(stream_module, "CHUNK_BYTES", 2 * 4 * 4)  # read ahead: 8 rows of 2 float32 values
    gate = threading.Event()
    reader = ReadAhead(depth=2)
    blocker = reader.submit(gate.wait, 5)  # the thread is busy: what is queued next waits behind it
    chunks = OrderedChunks([_Rows(64)], np.arange(64), 4, reader=reader)
    rows = chunks.rows
    np.testing.assert_array_equal(chunks.read(0, 4)[0][:, 0], np.arange(4))  # queues chunks 1 and 2
    queued = chunks._chunks[2]
    np.testing.assert_array_equal(chunks.read(rows, rows + 4)[0][:, 0], np.arange(rows, rows + 4))
    assert not blocker.done()  # chunk 1 was read here, not waited for
    chunks.cancel()  # a new epoch order: chunks 2 and 3, still queued, are dropped
    assert queued.cancelled()
    gate.set()
    reader.close()


def test_an_error_in_a_chunk_read_ahead_is_raised_where_that_chunk_is_read(monkeypatch):
    monkeypatch.setattr(stream_module, "CHUNK_BYTES", 2 * 4 * 16)  # read ahead: 32 rows per chunk
    reader = ReadAhead(depth=1)
    chunks = OrderedChunks([_Rows(64, bad=40)], np.arange(64), 4, reader=reader)
    assert chunks.rows == 32  # two chunks: the second, read ahead by the thread, holds row 40
    chunks.read(0, 4)
    chunks._chunks[1].exception(5)  # the thread has met the error; nothing is raised yet
    chunks.read(4, 8)
    with pytest.raises(ValueError, match="row 40 is unreadable"):
        chunks.read(32, 36)
    reader.close()


# ---- what cannot be read is named ----------------------------------------------------------

def _load(program, d, shape=(6,), **data):
    return load_data(program(DataSpec(source=Source("npy", {"dir": str(d)}), **data), input_shape=shape,
                             output_shape=(3,)))


def test_missing_array_lists_what_is_there(tmp_path, program):
    np.save(tmp_path / "inputs.npy", np.zeros((4, 6)))
    with pytest.raises(DataError, match=r"has no x.npy and no folder x/; it holds: inputs.npy") as e:
        _load(program, tmp_path)
    assert e.value.pos.file == str(tmp_path)


def test_pickled_truncated_and_foreign_files_name_the_file(tmp_path, program):
    obj = np.empty(4, dtype=object)
    np.save(tmp_path / "x.npy", obj, allow_pickle=True)
    np.save(tmp_path / "y.npy", np.zeros(4, np.int64))
    with pytest.raises(DataError, match="Python objects") as e:
        _load(program, tmp_path)
    assert e.value.pos.file == str(tmp_path / "x.npy")

    np.save(tmp_path / "x.npy", np.zeros((100, 6), np.float32))
    raw = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(raw[:-400])
    with pytest.raises(DataError, match="damaged") as e:
        _load(program, tmp_path)
    assert e.value.pos.file == str(tmp_path / "x.npy")

    (tmp_path / "x.npy").write_bytes(b"not an npy file at all")
    with pytest.raises(DataError, match="not a readable .npy") as e:
        _load(program, tmp_path)
    assert e.value.pos.file == str(tmp_path / "x.npy")


def test_a_shard_that_differs_is_named(tmp_path, program):
    (tmp_path / "x").mkdir()
    np.save(tmp_path / "x" / "0.npy", np.zeros((4, 6), np.float32))
    np.save(tmp_path / "x" / "1.npy", np.zeros((4, 5), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(8, np.int64))
    with pytest.raises(DataError, match=r"shard holds float32 samples of shape \[5\]") as e:
        _load(program, tmp_path)
    assert e.value.pos.file == str(tmp_path / "x" / "1.npy")
    np.save(tmp_path / "x" / "1.npy", np.zeros((4, 6), np.float64))
    with pytest.raises(DataError, match="float64"):
        _load(program, tmp_path)


def test_nonfinite_input_names_shard_and_row(tmp_path, program):
    (tmp_path / "x").mkdir()
    bad = np.zeros((5, 6), np.float32)
    bad[3, 2] = np.nan
    np.save(tmp_path / "x" / "0.npy", np.zeros((5, 6), np.float32))
    np.save(tmp_path / "x" / "1.npy", bad)
    np.save(tmp_path / "y.npy", np.zeros(10, np.int64))
    with pytest.raises(DataError, match="row 3, feature 2 is nan") as e:
        _load(program, tmp_path)
    assert e.value.pos.file == str(tmp_path / "x" / "1.npy")


def test_counts_layout_and_folder_errors(tmp_path, program):
    np.save(tmp_path / "x.npy", np.zeros((5, 6), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(4, np.int64))
    with pytest.raises(DataError, match="'x' has 5 samples but 'y' has 4"):
        _load(program, tmp_path)
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match="both x.npy and a folder x/"):
        _load(program, tmp_path)
    (tmp_path / "x.npy").unlink()
    with pytest.raises(DataError, match="holds no .npy files"):
        _load(program, tmp_path)
    with pytest.raises(DataError, match="not a directory"):
        _load(program, tmp_path / "y.npy")
