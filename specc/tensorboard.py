"""TensorBoard event files in each run directory, so `tensorboard --logdir runs` shows every run.

Written with TensorBoard's own event-file writer (the one torch.utils.tensorboard
wraps), from the `tensorboard` package: the `specc[tensorboard]` extra, which
also brings the `tensorboard` viewer. It needs neither torch nor TensorFlow and
imports in ~0.2 s (tensorboardX would import torch: ~2 s for every NumPy run).
Without the package a run writes no events and goes on, as it does without
matplotlib for curves.png.

What is logged: every per-epoch column of metrics.jsonl (losses, metrics,
learning rate, epoch time, samples/s) as a scalar at the run's optimizer step,
the test metrics at the end, and the normalized spec as text. A resumed run
opens a new event file that starts with a purge marker at its checkpoint's
step, so points a killed run logged after its last checkpoint are hidden
instead of doubled (TensorBoard's documented `purge_step` mechanism).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

NOT_SCALARS = {"epoch", "step", "partial"}
FLUSH_SECS = 10  # a run being watched shows up within this many seconds


def available() -> bool:
    """Whether the writer can be had (and, as a side effect, its modules imported: ~0.2 s once)."""
    try:
        import tensorboard.compat.proto.event_pb2  # noqa: F401
        import tensorboard.compat.proto.summary_pb2  # noqa: F401
        import tensorboard.summary.writer.event_file_writer  # noqa: F401
    except ImportError:
        return False
    return True


class EventLog:
    """Appends the history rows not yet written to the run's event file."""

    def __init__(self, run_dir, *, written: int = 0, purge_step: int | None = None):
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._event, self._summary = event_pb2, summary_pb2
        # The file name holds the time in seconds; the suffix keeps a resume in the same second from reusing it.
        suffix = f".{os.getpid()}.{purge_step or 0}"
        self.writer = EventFileWriter(str(Path(run_dir)), flush_secs=FLUSH_SECS, filename_suffix=suffix)
        self.written = written  # rows of the history already in an event file
        if purge_step is not None:
            self._add(self._event.Event(step=purge_step, session_log=self._event.SessionLog(
                status=self._event.SessionLog.START)))

    @classmethod
    def open(cls, run_dir, *, history: list[dict], resumed_step: int | None = None) -> "EventLog | None":
        if not available():
            return None
        return cls(run_dir, written=len(history), purge_step=resumed_step)

    def _add(self, event) -> None:
        event.wall_time = time.time()
        self.writer.add_event(event)

    def scalars(self, values: dict, step: int) -> None:
        """One event holding every value of a step (cheaper than an event per value)."""
        Value = self._summary.Summary.Value
        summary = self._summary.Summary(value=[Value(tag=k, simple_value=float(v)) for k, v in values.items()])
        self._add(self._event.Event(step=step, summary=summary))

    def spec(self, text: str) -> None:
        """The spec as a text summary (tag spec/text_summary), indented so TensorBoard shows it as code."""
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
        from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

        s = self._summary
        markdown = "\n".join("    " + line for line in text.splitlines())
        metadata = s.SummaryMetadata(plugin_data=s.SummaryMetadata.PluginData(
            plugin_name="text", content=TextPluginData(version=0).SerializeToString()))
        tensor = TensorProto(dtype="DT_STRING", string_val=[markdown.encode("utf-8")],
                             tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
        value = s.Summary.Value(tag="spec/text_summary", metadata=metadata, tensor=tensor)
        self._add(self._event.Event(step=0, summary=s.Summary(value=[value])))

    def rows(self, history: list[dict]) -> None:
        for row in history[self.written:]:
            self.scalars({k: v for k, v in row.items() if k not in NOT_SCALARS and isinstance(v, (int, float))
                          and not isinstance(v, bool)}, int(row.get("step", 0)))
        self.written = len(history)

    def test(self, metrics: dict | None, step: int) -> None:
        if metrics:
            self.scalars({f"test_{k}": v for k, v in metrics.items()}, step)

    def close(self) -> None:
        self.writer.close()
