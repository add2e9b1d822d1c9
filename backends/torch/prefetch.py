"""Batches of a streamed split (specc/data/stream.py), prepared ahead in a background thread.

The training thread asks for a batch by key ((split, lo, hi) of the epoch's
order); one worker thread has usually read it already from the memory-mapped
files, converted and preprocessed it (NumPy releases the GIL while it copies;
training batches come a chunk of several steps at a time, data.stream.OrderedChunks),
and put it in pinned memory when the device is CUDA, so the step only starts
an asynchronous copy. The caller says which keys come next; a request nobody
predicted (the first batch, a resume), or one the worker has not started yet
(it is behind: no free core), is prepared on the spot. A new epoch order drops
what was prepared for the old one (`reset`).

`waited` adds up the seconds the training thread spent waiting for a batch:
bench/stream_epoch.py reports it as a share of the epoch. The torch backend
uses this per-batch thread on CUDA. On a CPU device there is nothing to pin or
copy: a thread reads whole chunks of steps ahead instead (data.stream.ReadAhead),
when a core is free for it and it pays (data.stream.reads_ahead; the option
prefetch=True/False overrides).
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor


class Prefetcher:
    def __init__(self, prepare, depth: int = 2, threaded: bool = True):
        self.prepare = prepare        # key -> batch (host tensors)
        self.depth = depth            # batches prepared ahead
        self.threaded = threaded      # False: every batch is prepared on the spot, in the caller's thread
        self.pending: dict[tuple, Future] = {}
        self.pool: ThreadPoolExecutor | None = None
        self.waited = 0.0

    def get(self, key: tuple, upcoming: list[tuple]):
        """The batch for `key`; then the next `depth` of `upcoming` are queued for the worker."""
        if not self.threaded:
            return self.prepare(key)
        future = self.pending.pop(key, None)
        if future is not None and future.cancel():  # queued, not started: do it here rather than wait
            future = None                            # for the worker to be scheduled (a busy machine)
        upcoming = upcoming[:self.depth]
        for k in [k for k in self.pending if k not in upcoming]:
            self.pending.pop(k).cancel()
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="specc-prefetch")
        for k in upcoming:
            if k not in self.pending:
                self.pending[k] = self.pool.submit(self.prepare, k)
        start = time.perf_counter()
        batch = future.result() if future is not None else self.prepare(key)
        self.waited += time.perf_counter() - start
        return batch

    def reset(self) -> None:
        """Forget batches prepared for an order that no longer holds."""
        for future in self.pending.values():
            future.cancel()
        self.pending.clear()

    def close(self) -> None:
        self.reset()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None
