"""metrics.csv and metrics.jsonl (one row per epoch), and when to redraw curves.png.

Rows are appended; both files are rewritten only when a new column appears (a
metric first logged in a later epoch) or on the first write after a resume. No
fsync: the checkpoint holds the full history, and a resume rewrites both files
from it, so a torn log line cannot outlive a resume.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import rundir

CURVES_EVERY = 30.0  # seconds between curves.png redraws (a render costs ~0.2 s); always drawn at the end


class MetricsLog:
    def __init__(self, run_dir: Path, plot: str = "now"):
        """plot: "now" (draw curves.png here), "later" (the caller draws the final one, see
        curves.draw_later) or "off" (--no-plot)."""
        self.run_dir, self.plot = Path(run_dir), plot
        self.columns: list[str] = []   # columns of metrics.csv as written so far
        self.rows_written = 0          # history rows already in the files (0: rewrite them)
        self._curves_at = time.monotonic()  # first redraw CURVES_EVERY after the start

    def write(self, history: list[dict], final: bool = False) -> None:
        columns = list(self.columns)
        for row in history[self.rows_written:]:
            columns += [k for k in row if k not in columns]
        if columns != self.columns or self.rows_written == 0:
            self.columns, self.rows_written, mode = columns, 0, "w"
        else:
            mode = "a"
        rows = history[self.rows_written:]
        with open(self.run_dir / rundir.METRICS_CSV, mode, encoding="utf-8", newline="") as f:
            if mode == "w":
                f.write(",".join(columns) + "\n")
            f.writelines(",".join(csv_cell(r.get(k)) for k in columns) + "\n" for r in rows)
        with open(self.run_dir / rundir.METRICS_JSONL, mode, encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        self.rows_written = len(history)
        self._maybe_draw(history, final)

    def _maybe_draw(self, history: list[dict], final: bool) -> None:
        now = time.monotonic()
        if self.plot == "off" or (final and self.plot == "later"):
            return
        if final or now - self._curves_at >= CURVES_EVERY:
            self._curves_at = now
            try:
                from .curves import write_curves

                write_curves(self.run_dir / rundir.CURVES, history)
            except ImportError:  # matplotlib missing: curves are a nicety, not a reason to fail a run
                pass


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)
