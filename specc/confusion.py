"""The confusion matrix of a classifier: computed, written to the run directory, printed.

At the end of training the driver writes confusion.csv and confusion.png for the
test split (the validation split when there is no test split); `specc eval`
prints the matrix of the split it evaluates. Rows are true classes, columns
predicted ones (scikit-learn's layout). Only classifiers get one: a model whose
first output is a softmax / log_softmax, or a single sigmoid unit (two classes).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .checkpoint import save_figure
from .ir import Program
from .metrics import confusion_matrix, predicted_classes

CSV_NAME = "confusion.csv"
PNG_NAME = "confusion.png"


def is_classifier(program: Program) -> bool:
    model = program.model
    op = model.output_op
    return op in ("softmax", "log_softmax") and len(model.output_shape) == 1 or \
        op == "sigmoid" and tuple(model.output_shape) == (1,)


def compute(program: Program, outputs, targets) -> np.ndarray | None:
    """int64 [classes, classes], or None when the model is no classifier or there are no targets."""
    if targets is None or not is_classifier(program):
        return None
    outputs = np.asarray(outputs)
    if program.model.output_op == "log_softmax":
        outputs = np.exp(outputs)  # argmax is the same; probabilities keep the sigmoid rule uniform
    true, pred, n = predicted_classes(outputs, targets)
    return confusion_matrix(true, pred, n)


def labels(matrix: np.ndarray, classes) -> list[str]:
    """Class names from the data (`classes = [...]`, CSV labels), else the indices."""
    n = len(matrix)
    return [str(c) for c in classes] if classes is not None and len(classes) == n else [str(i) for i in range(n)]


def render(matrix: np.ndarray, classes=None) -> str:
    """The matrix as aligned text: a header of predicted classes, one row per true class."""
    names = labels(matrix, classes)
    corner = "true \\ predicted"
    width = max([len(n) for n in names] + [len(str(int(v))) for v in matrix.reshape(-1)])
    first = max(len(corner), width)
    lines = [f"{corner:<{first}}  " + "  ".join(f"{n:>{width}}" for n in names)]
    for name, row in zip(names, matrix):
        lines.append(f"{name:<{first}}  " + "  ".join(f"{int(v):>{width}}" for v in row))
    return "\n".join(lines)


def write(run_dir, matrix: np.ndarray, classes=None, split: str = "test", png: bool = True) -> None:
    """confusion.csv (first column the true class, then one column per predicted class) and, with png,
    confusion.png (png=False when the picture is drawn later, with curves.png, off the result's path)."""
    run_dir = Path(run_dir)
    names = labels(matrix, classes)
    with open(run_dir / CSV_NAME, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["true\\predicted", *names])
        for name, row in zip(names, matrix):
            w.writerow([name, *(int(v) for v in row)])
    if png:
        _plot(run_dir / PNG_NAME, matrix, names, split)


def redraw(run_dir) -> None:
    """confusion.png from the run's confusion.csv, if it has one (`python -m specc.curves` calls this)."""
    path = Path(run_dir) / CSV_NAME
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    matrix = np.array([[int(v) for v in row[1:]] for row in body], np.int64)
    _plot(Path(run_dir) / PNG_NAME, matrix, head[1:], None)


def _plot(path: Path, matrix: np.ndarray, names: list[str], split: str | None) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global backend switch (see curves.py)

    n = len(names)
    size = min(12.0, 2.5 + 0.5 * n)
    fig = Figure(figsize=(size, size), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(n), names, rotation=45 if n > 6 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({split} split)" if split else "confusion matrix")
    if n <= 20:
        top = matrix.max() if matrix.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center",
                        color="white" if top and matrix[i, j] > top / 2 else "black")
    fig.tight_layout()
    save_figure(path, fig)
