"""The progress bar and the learning-curve plot."""
from __future__ import annotations

import io

from specc.curves import metric_keys, write_curves
from specc.progress import Progress


def test_progress_bar_shows_loss_lr_and_rate():
    out = io.StringIO()
    bar = Progress(10, file=out, every=0.0)
    bar.advance(4)
    bar.show(loss=0.1234567, lr=0.01, samples_per_s=12345.6, epoch=2, force=True)
    bar.advance(6)
    bar.close()
    text = out.getvalue()
    assert "10/10" in text and "loss=0.1235" in text and "lr=0.01" in text and "samples/s=12,346" in text


def test_quiet_progress_prints_nothing(capsys):
    bar = Progress(10, quiet=True)
    bar.advance(3)
    bar.show(loss=1.0, force=True)
    bar.close()
    assert capsys.readouterr().err == ""


def test_curves_png(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_accuracy": 1 - 1 / (e + 1)}
               for e in range(1, 5)]
    assert metric_keys(history) == ["val_accuracy"]
    write_curves(tmp_path / "c.png", history)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["c.png"]
