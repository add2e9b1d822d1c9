"""What successive checks of one edited file can share: results keyed by statement objects.

An editor's parser hands back the same statement object for text that did not change (the
language server's incremental parser does), so a result computed from that object, or from
a block statement and the argument objects substituted into it, is still right: it is taken
from the last check instead of computed again. An entry holds the objects it was computed
from, so their ids are not reused while it lives; each check keeps only the entries it used.
"""
from __future__ import annotations


class StatementMemo:
    def __init__(self):
        self.previous: dict = {}
        self.current: dict = {}
        self.computed = 0  # results computed afresh (the tests' and the bench's view)

    def next_version(self) -> None:
        """Start a check: what the last one used stays available; the rest is dropped."""
        self.previous, self.current = self.current, {}

    def keep_all(self) -> None:
        """This check reuses everything the last one used (its model did not change)."""
        self.current.update(self.previous)

    def get(self, kind: str, sources: tuple, compute, same=None):
        """compute(), or its result from the last check made from the same objects `sources`
        and an equal value `same` (e.g. the block-use scope a statement is checked in)."""
        key = (kind, same) + tuple(map(id, sources))
        hit = self.current.get(key) or self.previous.get(key)
        if hit is None or any(a is not b for a, b in zip(hit[0], sources)):
            self.computed += 1
            hit = (sources, compute())
        self.current[key] = hit
        return hit[1]
