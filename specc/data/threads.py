"""Threads for reading data: how many CPUs this process may use, and work done ahead in order."""
from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity: a container's or `taskset`'s limit), else all."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def in_order(work, items, threads: int):
    """work(*item) for every item, the results in order. With threads >= 1 the work runs on that many
    threads while the caller uses the results, at most threads + 1 items ahead of it (so the memory
    held stays bounded); with 0, in the caller's thread. Stopping early (closing the generator)
    cancels what has not started."""
    if threads < 1:
        yield from (work(*item) for item in items)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(work, *item))
                if len(pending) > threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
