"""Inputs larger than memory: batches gathered from memory-mapped files, one step at a time.

Two pieces:

* `Shards` — several memory-mapped `.npy` files read as one array along axis 0
  (a directory of shards). Indexing returns the rows as an ordinary array;
  nothing else is read.
* `StreamedArray` — one split of a streamed input: the rows of the source it
  holds (the split's sorted indices, as for in-memory data), converted to
  float32 and preprocessed (`Preprocess`) per batch. `split[order[a:b]]` is
  exactly the batch the in-memory split would give, because the same float32
  conversion and the same in-place operations run on the same values.

The backends keep a StreamedArray as it is (`is_streamed`) and read the training
batches a chunk of consecutive steps at a time (`OrderedChunks`, held per epoch by
`EpochReads`), with a thread reading the next chunk ahead when a core is spare and
the thread makes the steps faster (`ReadAhead`, `reads_ahead`); evaluation reads
contiguous slices. `chunks()` feeds the one-pass statistics of `standardize`
(preprocess.mean_std over chunks).
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .preprocess import STATS_CHUNK, Preprocess
from .threads import usable_cpus


def is_streamed(a) -> bool:
    """Whether an input or target is gathered per batch (StreamedArray) rather than held in memory."""
    return isinstance(a, StreamedArray)


class Shards:
    """Memory-mapped arrays [n_k, *shape] concatenated along axis 0, read only where indexed."""

    def __init__(self, parts: list[np.ndarray], files: list[str]):
        self.parts, self.files = list(parts), list(files)
        self._views = [np.asarray(p) for p in self.parts]  # plain ndarray views: np.take skips memmap's overhead
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])
        first = self.parts[0]
        self.shape = (int(self.offsets[-1]), *first.shape[1:])
        self.dtype = first.dtype
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def reshape(self, *shape) -> "Shards":
        """The same rows with another per-sample shape (shape[0] must stay the number of rows)."""
        shape = tuple(int(d) for d in (shape[0] if len(shape) == 1 else shape))
        if shape[0] != len(self):
            raise ValueError(f"Shards.reshape keeps the {len(self)} rows, got {shape}")
        tail = shape[1:]
        if tail == (-1,):
            tail = (int(np.prod(self.shape[1:], dtype=np.int64)),)
        return Shards([p.reshape((len(p), *tail)) for p in self.parts], self.files)

    def where(self, row: int) -> tuple[str, int]:
        """(file, row inside that file) of a global row."""
        k = int(np.searchsorted(self.offsets, row, side="right")) - 1
        return self.files[k], row - int(self.offsets[k])

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            key = np.arange(*key.indices(len(self)))
        rows = np.asarray(key, dtype=np.int64).reshape(-1)
        part = np.searchsorted(self.offsets, rows, side="right") - 1
        if len(rows) and part.min() == part.max():  # all in one shard (slices, sorted evaluation pieces)
            return np.take(self._views[part[0]], rows - self.offsets[part[0]], axis=0)
        out = np.empty((len(rows), *self.shape[1:]), self.dtype)
        by_part = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[by_part], np.arange(len(self.parts) + 1))
        for k in range(len(self.parts)):
            sel = by_part[bounds[k]:bounds[k + 1]]
            if len(sel):
                out[sel] = np.take(self._views[k], rows[sel] - self.offsets[k], axis=0)
        return out


class StreamedArray:
    """float32 [N, *shape] rows of `source` (a memmap or Shards), prepared per read.

    `index`: the source rows of this split (None: all of them, in order).
    `preprocess`: applied in place to every batch after the float32 conversion.
    `dtype`: what reads return (float32; float64 for `dtype = float64` runs, converted
    after preprocessing, as the in-memory split is converted by the backend; int64 for
    token ids, which are never preprocessed).
    `augmentation`: the epoch's `augment` steps, applied to every read after preprocessing
    with the rows' positions in the split (augment.Draws), so a batch is augmented as the
    whole in-memory split would be.
    """

    def __init__(self, source, index: np.ndarray | None = None, preprocess: Preprocess | None = None,
                 shape: tuple | None = None, dtype=np.float32, augmentation=None):
        self.source, self.index = source, index
        self._rows = np.asarray(source) if isinstance(source, np.ndarray) else source  # a memmap as a plain view
        self.preprocess = preprocess or Preprocess()
        self.sample_shape = tuple(shape) if shape is not None else tuple(source.shape[1:])
        self.dtype = np.dtype(dtype)
        self.augmentation = augmentation  # data.augment.Augmentation of this epoch (training split), or None

    # -- array-like -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.source) if self.index is None else len(self.index)

    @property
    def shape(self) -> tuple:
        return (len(self), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    @property
    def nbytes(self) -> int:
        """What the split would take in memory (it never does)."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __repr__(self) -> str:
        return f"<StreamedArray {list(self.shape)} {self.dtype} of {type(self.source).__name__}>"

    def __getitem__(self, key) -> np.ndarray:
        """Rows `key` (a slice or integer indices into this split) as a new prepared array."""
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            positions = slice(start, stop, step)
            if self.index is None and step == 1:
                raw = self._rows[start:stop]
            else:
                rows = np.arange(start, stop, step) if self.index is None else self.index[start:stop:step]
                raw = self._take(rows)
        else:
            positions = np.asarray(key)
            if positions.dtype.kind not in "iu":
                raise TypeError(f"StreamedArray takes a slice or integer indices, got {positions.dtype}")
            raw = self._take(positions if self.index is None else self.index[positions])
        if self.dtype.kind in "iu":  # token ids: converted as load._to_float32 converts them, never preprocessed
            return raw.astype(self.dtype).reshape((len(raw), *self.sample_shape))
        out = raw.astype(np.float32)  # the float32 conversion of the in-memory path (load._to_float32)
        self.preprocess.apply_(out)  # in the source's sample shape, which mean/std broadcast against
        out = out.reshape((len(out), *self.sample_shape))
        if self.augmentation is not None:
            if isinstance(positions, slice):
                positions = np.arange(positions.start, positions.stop, positions.step)
            out = self.augmentation.apply(out, positions)
        return out if self.dtype == np.float32 else out.astype(self.dtype)

    def reads_like(self, other) -> bool:
        """Whether reads of `other` give the same values (maybe in another sample shape): an autoencoder's
        target is its input, read once."""
        return (isinstance(other, StreamedArray) and other.source is self.source and other.index is self.index
                and other.preprocess is self.preprocess and other.dtype == self.dtype
                and other.augmentation is self.augmentation)

    def _take(self, rows: np.ndarray) -> np.ndarray:
        return np.take(self._rows, rows, axis=0) if isinstance(self._rows, np.ndarray) else self._rows[rows]

    def __array__(self, dtype=None, copy=None):
        """The whole split in memory (metrics of an autoencoder's val/test targets; never on the training path)."""
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    # -- derived views --------------------------------------------------------------------
    def _with(self, **changes) -> "StreamedArray":
        args = dict(source=self.source, index=self.index, preprocess=self.preprocess, shape=self.sample_shape,
                    dtype=self.dtype, augmentation=self.augmentation)
        args.update(changes)
        return StreamedArray(**args)

    def with_preprocess(self, preprocess: Preprocess) -> "StreamedArray":
        return self._with(preprocess=preprocess)

    def with_augmentation(self, augmentation) -> "StreamedArray":
        """This split augmented as `augmentation` says (one epoch's draws), read by read."""
        return self._with(augmentation=augmentation)

    def astype(self, dtype) -> "StreamedArray":
        return self._with(dtype=dtype)

    def reshape(self, *shape) -> "StreamedArray":
        """The same rows with another per-sample shape (first_nonfinite's [N, -1] view)."""
        shape = tuple(int(d) for d in (shape[0] if len(shape) == 1 else shape))
        size = int(np.prod(self.sample_shape, dtype=np.int64))
        if shape[1:] == (-1,):
            shape = (shape[0], size)
        if shape[0] != len(self) or int(np.prod(shape[1:], dtype=np.int64)) != size:
            raise ValueError(f"cannot reshape {list(self.shape)} to {list(shape)}")
        return self._with(shape=shape[1:])

    def chunks(self, rows: int = STATS_CHUNK):
        """The prepared split in consecutive pieces of `rows` samples (statistics, checks)."""
        for i in range(0, len(self), rows):
            yield self[i:i + rows]


CHUNK_BYTES = 2 << 20  # float32 bytes per chunk of batches: small enough to stay in the CPU caches
# A chunk read ahead by a thread is this many times bigger: the thread takes the GIL back after every
# NumPy call, and each hand-off with the training thread costs that thread time; fewer, bigger chunks
# mean fewer hand-offs (bench/stream_epoch.py, `tiny` on torch, reading ahead one chunk: 0.80-0.86x of the
# in-memory rate with 2 MiB chunks, 0.87-0.88x with 4 or 8 MiB; one chunk ahead is as fast as two).
READ_AHEAD_SCALE = 2


def reads_ahead(prefetch: bool | None, math_threads: int) -> bool | str:
    """Whether a thread reads the next chunks of streamed data while the step runs (ReadAhead):
    True (always), False (never) or "tune" (on trial first, kept only if it makes the steps faster).

    `prefetch` True or False decides. By default (None) the thread is tried when the
    process may run on more CPUs than the backend's math library uses threads
    (`math_threads`), so the reading can take a core the step leaves idle (`tiny` in
    bench/stream_epoch.py, one math thread on two cores: NumPy 0.83x -> 0.91-1.0x,
    torch 0.78x -> 0.88x of the in-memory rate). That core may be busy with another
    process (torch 0.74x with the thread against 0.80x without), hence the trial.
    When the math threads fill every core the step reads its own batches."""
    if prefetch is not None:
        return bool(prefetch)
    return "tune" if usable_cpus() > math_threads else False


PROBE_BLOCK = 4     # while the read-ahead is on trial: chunks read with the thread, then as many without
PROBE_SAMPLES = 12  # chunks timed each way before deciding


class ReadAhead:
    """A background thread that reads the next chunks of an epoch (OrderedChunks) while the step runs.

    NumPy releases the GIL while it gathers, converts and preprocesses, so with a
    core to spare the reading of the next `depth` chunks overlaps the training
    steps of the current one (at most 1 + depth chunks of READ_AHEAD_SCALE *
    CHUNK_BYTES are held: 8 MiB). `waited` adds up the seconds the training thread
    still waited for a chunk the thread had not finished (bench/stream_epoch.py
    reports it as a share of the epoch).

    With `tune`, the thread is on trial first: blocks of PROBE_BLOCK chunks are read
    with it and without it in turn, the time from one chunk to the next (its steps
    and getting the next chunk) is noted for each way, and once PROBE_SAMPLES of each
    are in, the thread stays on only if it made a chunk at least 3% faster (median).
    A core that looked spare but is busy with another process makes it slower:
    then the steps read their own chunks. Without `tune` the thread is always used.
    """

    def __init__(self, depth: int = 1, tune: bool = False):
        self.depth = depth
        self.waited = 0.0
        self.decided: bool | None = None if tune else True  # None: still on trial
        self._trials = 0
        self._times: dict[bool, list[float]] = {True: [], False: []}
        self._pool: ThreadPoolExecutor | None = None

    def next_mode(self) -> bool:
        """Whether the chunk being reached now queues the chunks after it (the decision, or the trial's turn)."""
        if self.decided is not None:
            return self.decided
        self._trials += 1
        return ((self._trials - 1) // PROBE_BLOCK) % 2 == 0

    def record(self, ahead: bool, seconds: float) -> None:
        """A chunk's steps and getting the next chunk took `seconds`, read ahead or not; decide when enough are in."""
        if self.decided is not None:
            return
        self._times[ahead].append(seconds)
        if min(len(t) for t in self._times.values()) >= PROBE_SAMPLES:
            on, off = (float(np.median(self._times[mode])) for mode in (True, False))
            self.decided = on < 0.97 * off

    def submit(self, fn, *args) -> Future:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="specc-prefetch")
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class EpochReads:
    """A backend's streamed training batches: the epoch's OrderedChunks, made at the first read after a
    new order or new data, and the thread that reads ahead of the step: none, always (`read_ahead`
    True), or on trial first ("tune", ReadAhead); once the trial has turned it down, epochs read in
    the training thread, in the smaller chunks that suit it."""

    def __init__(self, read_ahead: bool | str):
        self.reader = ReadAhead(tune=read_ahead == "tune") if read_ahead else None
        self._chunks: OrderedChunks | None = None
        self._lock = threading.Lock()  # the torch prefetch thread and the training thread may both ask

    def epoch(self, arrays: list, order: np.ndarray, batch: int) -> "OrderedChunks":
        """This epoch's chunks of `arrays` in `order` (made from these arguments on the first call)."""
        with self._lock:
            if self._chunks is None:
                reader = self.reader
                if reader is not None and reader.decided is False:
                    reader.close()
                    reader = None
                self._chunks = OrderedChunks(arrays, order, batch, reader=reader)
            return self._chunks

    def reset(self) -> None:
        """A new order or new data: forget the chunks; those queued for the thread are cancelled."""
        with self._lock:
            if self._chunks is not None:
                self._chunks.cancel()
                self._chunks = None

    @property
    def waited(self) -> float:
        """Seconds the training thread has waited for chunks the thread had not finished."""
        return self.reader.waited if self.reader is not None else 0.0


class OrderedChunks:
    """An epoch's batches arrays[order[lo:hi]], read a chunk of consecutive batches at a time.

    Reading, converting and preprocessing 2 MiB of samples at once costs the
    Python and NumPy call overhead once per chunk instead of once per batch; each
    batch is then a contiguous view of its chunk (no copy). The chunks lie on a
    grid of `rows` (a multiple of the step's batch), so the batches of a step never
    straddle two chunks; a request that does (none of the driver's) is read on its own.
    A chunk gives exactly the rows, values and order that per-batch reads give.

    With a `reader` (ReadAhead), chunks are READ_AHEAD_SCALE times bigger, and the
    first read of a chunk queues the next `reader.depth` chunks for its thread; a
    queued chunk the thread has not started yet is read by the caller instead of
    waited for.

    Thread-safe: the torch prefetch thread reads the next chunk while the training
    thread takes the batches of the current one; the last `keep` chunks are kept.
    """

    def __init__(self, arrays: list, order: np.ndarray, batch: int, keep: int = 3,
                 reader: ReadAhead | None = None):
        """batch: samples per optimizer step (the chunk grid's unit); 0 reads every batch on its own."""
        self.arrays, self.order = list(arrays), np.asarray(order, np.int64)
        per_sample = sum(int(np.prod(a.shape[1:], dtype=np.int64)) * 4 for a in self.arrays) or 1
        size = CHUNK_BYTES * (READ_AHEAD_SCALE if reader is not None else 1)
        self.rows = max(1, size // (per_sample * batch)) * batch if batch > 0 else 0  # 0: no chunks
        self.count = -(-len(self.order) // self.rows) if self.rows else 0
        self.reader = reader if self.rows else None
        # reading ahead, the current chunk and those ahead: what a step took stays alive through its views
        self.keep = 1 + self.reader.depth if self.reader else keep
        self._chunks: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._reached: tuple[int, float, bool] | None = None  # (chunk, when the caller had it, read ahead from it)

    def read(self, lo: int, hi: int) -> list[np.ndarray]:
        """[a[order[lo:hi]] for a in arrays]: views of a chunk, or a read of their own."""
        k = lo // self.rows if self.rows else -1
        if k < 0 or hi > (k + 1) * self.rows or hi <= lo:
            return self._read(self.order[lo:hi])
        start = k * self.rows
        return [c[lo - start:hi - start] for c in self._chunk(k)]

    def cancel(self) -> None:
        """Drop the chunks queued for the reader and not started (a new epoch order makes them useless)."""
        with self._lock:
            for future in self._chunks.values():
                future.cancel()

    def _chunk(self, k: int) -> list[np.ndarray]:
        first = self.reader is not None and (self._reached is None or self._reached[0] != k)  # a new chunk
        with self._lock:
            future = self._chunks.get(k)
            mine = future is None or future.cancel()  # not read yet, or queued and not started: read it here
            if mine:
                future = self._chunks[k] = Future()
                future.set_running_or_notify_cancel()  # running: nobody else cancels it and reads it twice
            ahead = first and self.reader.next_mode()
            if ahead:
                for j in range(k + 1, min(self.count, k + 1 + self.reader.depth)):
                    if j not in self._chunks:
                        self._chunks[j] = self.reader.submit(self._read_chunk, j)
            for old in sorted(self._chunks)[:-self.keep]:
                self._chunks.pop(old).cancel()
        if mine:
            try:
                future.set_result(self._read_chunk(k))
            except BaseException as e:
                future.set_exception(e)
                raise
        elif self.reader is not None:  # being read by the thread, or read already
            started = time.perf_counter()
            try:
                future.result()
            finally:
                self.reader.waited += time.perf_counter() - started
        if first:
            self._reach(k, ahead)
        return future.result()

    def _reach(self, k: int, ahead: bool) -> None:
        """The caller has chunk k: the time since it had chunk k - 1 (that chunk's steps and getting this one) is
        what a chunk cost, read ahead or not (ReadAhead.record); the short last chunk of an epoch is not a sample."""
        now = time.perf_counter()
        last = self._reached
        if last is not None and last[0] == k - 1 and k < self.count - 1:
            self.reader.record(last[2], now - last[1])
        self._reached = (k, now, ahead)

    def _read_chunk(self, k: int) -> list[np.ndarray]:
        return self._read(self.order[k * self.rows:(k + 1) * self.rows])

    def _read(self, rows: np.ndarray) -> list[np.ndarray]:
        """Every array's `rows`; an array that reads like an earlier one (an autoencoder's target) is not read twice."""
        out: list[np.ndarray] = []
        for a in self.arrays:
            twin = next((k for k, b in enumerate(self.arrays[:len(out)]) if isinstance(b, StreamedArray)
                         and b.reads_like(a)), None)
            out.append(a[rows] if twin is None else out[twin].reshape((len(rows), *a.sample_shape)))
        return out
