"""Learning curves as a PNG: train/val loss per epoch, and each metric (val, or train without val).

matplotlib is imported lazily so that the CLI starts fast, and only its
`Figure` class is used (no pyplot): saving a PNG renders with Agg, never needs a
display, and leaves the user's pyplot backend (e.g. in a notebook) alone.
"""
from __future__ import annotations

from pathlib import Path

from .checkpoint import save_figure

LOSS_KEYS = ("train_loss", "val_loss")
SKIP = {"epoch", "step", "lr", "time", "samples_per_s", "partial"}


def metric_keys(history: list[dict]) -> list[str]:
    """Metrics present in the history, in first-seen order: val_accuracy, ... or, for runs
    without a validation split, train_accuracy, ..."""
    keys: list[str] = []
    for row in history:
        for k in row:
            if k.startswith(("val_", "train_")) and k not in LOSS_KEYS and k not in keys:
                keys.append(k)
    return keys


def _series(history, key):
    xs, ys = [], []
    for row in history:
        v = row.get(key)
        if v is not None:
            xs.append(row["epoch"])
            ys.append(v)
    return xs, ys


def write_curves(path, history: list[dict]) -> None:
    """Write curves.png (atomically: rendered to a temp name, then renamed)."""
    if not history:
        return
    from matplotlib.figure import Figure  # no pyplot: no global backend switch, no GUI; savefig renders with Agg

    metrics = metric_keys(history)
    fig = Figure(figsize=(5 * (1 + bool(metrics)), 3.6), dpi=100)
    ax = fig.add_subplot(1, 1 + bool(metrics), 1)
    for key in LOSS_KEYS:
        xs, ys = _series(history, key)
        if xs:
            ax.plot(xs, ys, marker="o" if len(xs) <= 50 else None, markersize=3, label=key.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.grid(True, alpha=0.3)
    ax.legend()
    if metrics:
        ax2 = fig.add_subplot(1, 2, 2)
        for key in metrics:
            xs, ys = _series(history, key)
            if xs:
                ax2.plot(xs, ys, marker="o" if len(xs) <= 50 else None, markersize=3, label=key.replace("_", " "))
        ax2.set_xlabel("epoch")
        ax2.set_title("metrics")
        ax2.grid(True, alpha=0.3)
        ax2.legend()
    fig.subplots_adjust(left=0.1 if metrics else 0.15, right=0.97, bottom=0.14, top=0.9, wspace=0.25)
    save_figure(path, fig)


def draw_later(run_dir) -> None:
    """Draw run_dir/curves.png in a detached process, so the result is not delayed by importing matplotlib.

    The run's files are complete when this is called (metrics.jsonl holds every row); the
    child only reads them and writes curves.png atomically, so nothing waits for it.
    """
    import os
    import subprocess
    import sys

    subprocess.Popen([sys.executable, "-m", "specc.curves", os.fspath(run_dir)], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def main(argv=None) -> int:
    """`python -m specc.curves RUN_DIR`: (re)draw a run's curves.png from its metrics.jsonl (and confusion.png)."""
    import json
    import sys

    run_dir = Path((argv or sys.argv[1:])[0])
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    write_curves(run_dir / "curves.png", history)
    from .confusion import redraw

    redraw(run_dir)  # confusion.png, drawn off the result's path too
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
