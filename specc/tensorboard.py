"""TensorBoard event files in each run directory, so `tensorboard --logdir runs` shows every run.

Written through tensorboardX (light: protobuf and NumPy, no torch; the
`specc[tensorboard]` extra) or, without it, torch.utils.tensorboard (needs torch
and the `tensorboard` package). With neither installed a run writes no events
and goes on, as it does without matplotlib for curves.png.

What is logged: every per-epoch column of metrics.jsonl (losses, metrics,
learning rate, epoch time, samples/s) as a scalar at the run's optimizer step,
the test metrics at the end, and the normalized spec as text. A resumed run
opens a new event file with `purge_step` at its checkpoint's step, so points a
killed run logged after its last checkpoint are hidden instead of doubled.
"""
from __future__ import annotations

import os
from pathlib import Path

NOT_SCALARS = {"epoch", "step", "partial"}
FLUSH_SECS = 10  # a run being watched shows up within this many seconds


def summary_writer_class():
    """tensorboardX.SummaryWriter, else torch.utils.tensorboard.SummaryWriter, else None."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None
    return SummaryWriter


class EventLog:
    """Appends the history rows not yet written to the run's event file."""

    def __init__(self, writer, written: int = 0):
        self.writer = writer
        self.written = written  # rows of the history already in an event file

    @classmethod
    def open(cls, run_dir, *, history: list[dict], resumed_step: int | None = None) -> "EventLog | None":
        writer_class = summary_writer_class()
        if writer_class is None:
            return None
        # The file name has the time in seconds; the suffix keeps a resume in the same second from overwriting it.
        suffix = f".{os.getpid()}.{resumed_step or 0}"
        writer = writer_class(str(Path(run_dir)), purge_step=resumed_step, flush_secs=FLUSH_SECS,
                              filename_suffix=suffix)
        return cls(writer, written=len(history))

    def spec(self, text: str) -> None:
        # TensorBoard renders text as Markdown: indent four spaces to keep it a code block
        self.writer.add_text("spec", "\n".join("    " + line for line in text.splitlines()), 0)

    def rows(self, history: list[dict]) -> None:
        for row in history[self.written:]:
            step = int(row.get("step", 0))
            for key, value in row.items():
                if key not in NOT_SCALARS and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.writer.add_scalar(key, value, step)
        self.written = len(history)

    def test(self, metrics: dict | None, step: int) -> None:
        for key, value in (metrics or {}).items():
            self.writer.add_scalar(f"test_{key}", value, step)

    def close(self) -> None:
        self.writer.close()
