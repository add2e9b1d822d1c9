"""Learning curves of several runs on one figure (`specc compare --plot`).

One panel for the losses (validation solid, training dashed) and one per
metric; each run keeps one colour across the panels. Like curves.py it uses
matplotlib's Figure only (no pyplot), so it renders with Agg and needs no display.
"""
from __future__ import annotations


from .curves import LOSS_KEYS, metric_keys
from .checkpoint import save_figure


def _series(history, key):
    points = [(row["epoch"], row[key]) for row in history if row.get(key) is not None and "epoch" in row]
    return [p[0] for p in points], [p[1] for p in points]


def write_overlay(path, runs: list[tuple[str, list[dict]]]) -> None:
    """Write a PNG with the curves of `runs` ([(label, history), ...]) overlaid."""
    from matplotlib.figure import Figure

    metrics: list[str] = []
    for _, history in runs:
        metrics += [k for k in metric_keys(history) if k not in metrics]
    panels = [("loss", LOSS_KEYS)] + [(m.replace("_", " "), (m,)) for m in metrics]
    fig = Figure(figsize=(5 * len(panels), 3.8), dpi=100)
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for index, (title, keys) in enumerate(panels, 1):
        ax = fig.add_subplot(1, len(panels), index)
        for (label, history), colour in zip(runs, colours):
            for key in keys:
                xs, ys = _series(history, key)
                if xs:
                    style = "--" if key == "train_loss" else "-"
                    name = f"{label} ({key.split('_')[0]})" if len(keys) > 1 else label
                    ax.plot(xs, ys, style, color=colour, label=name)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(path, fig)
