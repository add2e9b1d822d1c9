"""The progress bar (tqdm) of train (steps, loss, lr, samples/s), eval (samples) and export (stages).

No bar under --quiet, nor when stderr is not a terminal (a log file or a pipe
would collect every redraw); a bar given an explicit `file` always draws.

The bar is only told about a loss when the driver has converted a group of
loss handles anyway, so showing progress never forces a GPU sync. Redraws
are throttled (tqdm's `mininterval`, and the postfix is rebuilt at most every
`every` seconds) so that a tiny model is not slowed down by its own bar.
"""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, *, initial: int = 0, quiet: bool = False, desc: str = "train",
                 every: float = 0.25, file=None, unit: str = "step"):
        self.quiet = quiet
        self.every = every
        self._last = 0.0
        self._bar = None
        self._fields: dict = {}  # the latest postfix values, shown or not yet
        if file is None and not _terminal(sys.stderr):
            quiet = self.quiet = True
        if not quiet:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, mininterval=every,
                             dynamic_ncols=True, leave=True, file=file or sys.stderr)

    def advance(self, steps: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(steps)

    def show(self, *, loss: float | None = None, lr: float | None = None,
             samples_per_s: float | None = None, epoch: int | None = None, best: float | None = None,
             force: bool = False) -> None:
        """Set the postfix, at most once per `every` seconds unless forced.

        The values are always remembered (a value left None keeps the previous
        one), so `close` can show the last ones even when their redraw was skipped.
        """
        if self._bar is None:
            return
        for key, value in (("epoch", epoch), ("loss", None if loss is None else f"{loss:.4g}"),
                           ("lr", None if lr is None else f"{lr:.3g}"),
                           ("samples/s", None if samples_per_s is None else f"{samples_per_s:,.0f}"),
                           ("best", None if best is None else f"{best:.4g}")):
            if value is not None:
                self._fields[key] = value
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        self._bar.set_postfix(self._fields, refresh=False)

    def stage(self, name: str) -> None:
        """Name the step now running (export: "check", "write"), shown after the count."""
        if self._bar is not None:
            self._bar.set_postfix_str(name, refresh=True)

    def write(self, message: str) -> None:
        """Print a line without breaking the bar (or plainly when quiet is off and no bar)."""
        if self._bar is not None:
            self._bar.write(message, file=sys.stderr)

    def close(self) -> None:
        """End the bar showing the last epoch, loss and rate it was told about."""
        if self._bar is not None:
            if self._fields:
                self._bar.set_postfix(self._fields, refresh=False)
            self._bar.close()
            self._bar = None


def _terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False
