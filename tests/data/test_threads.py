"""Work done ahead on threads, results in order (data.threads: the CSV pieces, the Parquet columns)."""
import os

from specc.data.threads import in_order, usable_cpus


def test_in_order_keeps_the_order_holds_few_items_and_stops_early():
    import threading
    import time

    pulled, lock = [], threading.Lock()

    def items():
        for i in range(20):
            with lock:
                pulled.append(i)
            yield (i,)

    def work(i):
        time.sleep(0.002 * (i % 3))  # later items often finish first
        return i

    assert list(in_order(work, items(), 2)) == list(range(20))
    pulled.clear()
    results = in_order(work, items(), 2)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    assert len(pulled) <= 3 + 2  # the three taken, and at most threads + 1 ahead of them
    results.close()  # the caller stops (a piece the exact reader must read): nothing more is pulled
    assert len(pulled) <= 5
    assert list(in_order(work, items(), 0)) == list(range(20))  # in the caller's thread
    assert list(in_order(work, items(), 1)) == list(range(20))


def test_usable_cpus_follows_the_affinity(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 5}, raising=False)
    assert usable_cpus() == 2
