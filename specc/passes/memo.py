"""What successive checks of one edited file can share: results keyed by statement objects.

An editor's parser hands back the same statement object for text that did not change (the
language server's incremental parser does), so a result computed from that object, or from
a block statement and the argument objects substituted into it, is still right: it is taken
from the last check instead of computed again. An entry holds the objects it was computed
from, so their ids are not reused while it lives; each check keeps only the entries it used,
or was handed back by `carry` (passes/graph.py keeps the entries of the statements whose
results it kept, without asking for each again).
"""
from __future__ import annotations


class StatementMemo:
    def __init__(self):
        self.previous: dict = {}
        self.current: dict = {}
        self.log: list = []  # the (key, entry) pairs of `current`, in the order they were first used
        self.computed = 0  # results computed afresh (the tests' and the bench's view)
        self.computed_by: dict[str, int] = {}  # the same, by kind

    def next_version(self) -> None:
        """Start a check: what the last one used stays available; the rest is dropped."""
        self.previous, self.current, self.log = self.current, {}, []

    def keep_all(self) -> None:
        """This check reuses everything the last one used (its model did not change)."""
        self.current.update(self.previous)
        self.log = list(self.previous.items())

    def used(self) -> int:
        """How many entries this check has used so far (for entries_since)."""
        return len(self.log)

    def entries_since(self, n: int) -> list:
        """The entries this check used after the first n."""
        return self.log[n:]

    def carry(self, entries: list) -> None:
        """Keep these entries (from entries_since) as if this check had used them."""
        self.current.update(entries)
        self.log.extend(entries)

    def get(self, kind: str, sources: tuple, compute, same=None):
        """compute(), or its result from the last check made from the same objects `sources`
        and an equal value `same` (e.g. the block-use scope a statement is checked in)."""
        key = (kind, same) + tuple(map(id, sources))
        hit = self.current.get(key)
        if hit is None:
            hit = self.previous.get(key)
            if hit is None or any(a is not b for a, b in zip(hit[0], sources)):
                self.computed += 1
                self.computed_by[kind] = self.computed_by.get(kind, 0) + 1
                hit = (sources, compute())
            self.current[key] = hit
            self.log.append((key, hit))
        return hit[1]
