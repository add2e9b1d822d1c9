"""The progress bar ends showing the last epoch, loss and rate, also when redraws were throttled."""
from __future__ import annotations

import io
import re

from specc.driver import Trainer
from specc.frontend import compile_file
from specc.progress import Progress


def test_close_shows_the_latest_values_even_if_their_redraw_was_skipped():
    out = io.StringIO()
    bar = Progress(30, file=out, every=3600.0)  # only the first show() may redraw
    bar.advance(1)
    bar.show(loss=0.9, lr=0.1, samples_per_s=100.0, epoch=1)
    bar.advance(29)
    bar.show(loss=0.01, lr=0.05, samples_per_s=2000.0, epoch=30)
    bar.show(loss=0.02, epoch=30)  # values left out keep their previous value
    bar.close()
    last = out.getvalue().split("\r")[-1]
    assert "30/30" in last and "epoch=30" in last and "loss=0.02" in last and "samples/s=2,000" in last


def test_a_short_run_ends_on_its_last_epoch(specs, tmp_path):
    """30 one-step epochs finish well inside one redraw interval: the bar used to end on epoch 1."""
    out = io.StringIO()
    program = compile_file(specs["xor"])
    result = Trainer(program, out=tmp_path / "r", quiet=False, progress_file=out, handle_signals=False).run()
    last = out.getvalue().split("\r")[-1]
    assert re.search(r"epoch=30\b", last), last
    final_loss = result.history[-1]["train_loss"]  # one step an epoch: the epoch mean is the last step's loss
    assert f"loss={final_loss:.4g}" in last
    assert "samples/s=" in last
