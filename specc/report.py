"""One self-contained HTML page about a run (`specc report`): nothing is fetched when it is opened.

Sections: the result (status, final and best metrics, test metrics), the
learning curves (a PNG inlined as a data: URI), the confusion matrix on the
test split for classifiers (recomputed from the run's weights through
evaluation.split_outputs, the path `specc eval` takes), the compute graph as SVG
(Graphviz when `dot` is installed, else specc/svggraph.py), the spec with line
numbers, and the environment (library versions, backend, seed, spec hash).

A small inline script checks the page once loaded (every image decoded, no
error event) and records the result, with the position of the curves, as data
attributes on <body>; the browser test reads them.
"""
from __future__ import annotations

import base64
import datetime as _dt
import platform
import tempfile
from html import escape
from pathlib import Path

import numpy as np

from . import rundir
from .errors import DataError, SpecError

CLASSIFIER_LOSSES = ("cross_entropy", "nll", "bce")
MAX_MATRIX_CLASSES = 50  # a bigger matrix is not readable on a page

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 24px 40px; color: #222; max-width: 1100px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: 13px; }
td, th { padding: 3px 10px; border: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; } td.key, th.key { text-align: left; }
.status { display: inline-block; padding: 1px 8px; border-radius: 9px; background: #e3f1e3; }
.status.diverged, .status.interrupted, .status.unfinished { background: #f8dddd; }
pre.spec { background: #f8f8f8; border: 1px solid #ddd; padding: 8px 0; font-size: 13px; line-height: 1.4; }
pre.spec .ln { display: inline-block; width: 3em; padding-right: 10px; text-align: right; color: #999;
               user-select: none; border-right: 1px solid #ddd; margin-right: 10px; }
table.cm td { min-width: 28px; text-align: center; }
.note { color: #666; font-style: italic; }
#curves img { max-width: 100%; }
"""

CHECK_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener("error", function (e) { errors.push(String(e.message || e.type)); }, true);
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    images.forEach(function (img) { if (!img.complete || img.naturalWidth === 0) errors.push("image " + img.alt); });
    var body = document.body, curves = document.getElementById("curves-image");
    if (curves) {
      var r = curves.getBoundingClientRect();
      body.dataset.curves = [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)].join(",");
    }
    body.dataset.check = errors.length ? "errors: " + errors.join("; ") : "ok";
  });
})();
"""


def _num(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _table(head: list[str] | None, rows: list[list[str]]) -> str:
    out = ["<table>"]
    if head:
        out += ["<tr>", f'<th class="key">{escape(head[0])}</th>', *[f"<th>{escape(h)}</th>" for h in head[1:]],
                "</tr>"]
    for row in rows:
        out.append("<tr>" + f'<td class="key">{escape(row[0])}</td>'
                   + "".join(f"<td>{escape(c)}</td>" for c in row[1:]) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def curves_png(history: list[dict]) -> bytes | None:
    """The learning curves as PNG bytes (the same drawing as curves.png); None without matplotlib."""
    try:
        from .curves import write_curves
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "curves.png"
        try:
            write_curves(path, history)
        except ImportError:
            return None
        return path.read_bytes() if path.exists() else None


def is_classifier(program) -> bool:
    return program.train is not None and program.train.loss.name in CLASSIFIER_LOSSES


def confusion_matrix(outputs: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[true, predicted] from model outputs (probabilities or logits) and targets (indices or one-hot)."""
    outputs = np.asarray(outputs).reshape(len(outputs), -1)
    y = np.asarray(y).reshape(len(y), -1)
    predicted = (outputs[:, 0] >= 0.5).astype(int) if outputs.shape[1] == 1 else outputs.argmax(axis=1)
    true = y.argmax(axis=1) if y.shape[1] > 1 else np.rint(y[:, 0]).astype(int)
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (true, predicted), 1)
    return counts


def _matrix_html(counts: np.ndarray, names: list[str]) -> str:
    peak = max(int(counts.max()), 1)
    out = ['<table class="cm"><tr><th class="key">true \\ predicted</th>']
    out += [f"<th>{escape(n)}</th>" for n in names] + ["</tr>"]
    for i, name in enumerate(names):
        out.append(f'<tr><th class="key">{escape(name)}</th>')
        for j in range(len(names)):
            c = int(counts[i, j])
            alpha = 0.08 + 0.85 * c / peak if c else 0
            colour = (f"rgba(40, 110, 200, {alpha:.2f})" if i == j else f"rgba(210, 60, 50, {alpha:.2f})")
            out.append(f'<td style="background:{colour}">{c}</td>')
        out.append("</tr>")
    out.append("</table>")
    return "\n".join(out)


def confusion_section(program, run_dir) -> str:
    """The test-split confusion matrix, or a note saying why there is none."""
    if not is_classifier(program):
        return '<p class="note">not a classifier (its loss is not cross_entropy, nll or bce): no confusion matrix</p>'
    from .evaluation import split_outputs

    try:
        run = split_outputs(program, run_dir, split="test")
    except (SpecError, DataError) as e:
        return f'<p class="note">no confusion matrix: {escape(e.message)}</p>'
    outputs, y = run.outputs[0], run.targets[0] if run.targets else None  # of the first output, as in training
    width = int(np.asarray(outputs).reshape(len(outputs), -1).shape[1])
    n = 2 if width == 1 else width
    if n > MAX_MATRIX_CLASSES:
        return f'<p class="note">{n} classes: too many for a readable confusion matrix</p>'
    classes = rundir.read_classes(run_dir)
    names = [str(c) for c in classes] if classes and len(classes) == n else [str(i) for i in range(n)]
    counts = confusion_matrix(outputs, y, n)
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    return (f"<p>test split, {int(counts.sum())} samples, accuracy {accuracy:.4g} "
            "(rows: true class, columns: predicted)</p>\n" + _matrix_html(counts, names))


def graph_section(program, use_graphviz: bool = True) -> str:
    """The compute graph as inline SVG: Graphviz when installed, else specc's own drawing."""
    import shutil

    from .graph import render, to_dot

    if use_graphviz and shutil.which("dot"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "graph.svg"
            try:
                render(to_dot(program), str(path), "svg")
                svg = path.read_text(encoding="utf-8")
                return '<div class="graph" data-drawn-by="graphviz">' + svg[svg.index("<svg"):] + "</div>"
            except (RuntimeError, OSError, ValueError):
                pass  # fall back to our own drawing
    from .svggraph import graph_svg

    return '<div class="graph" data-drawn-by="specc">' + graph_svg(program) + "</div>"


def spec_section(text: str) -> str:
    lines = text.rstrip("\n").split("\n")
    width = len(str(len(lines)))
    body = "\n".join(f'<span class="ln">{i:>{width}}</span>{escape(line)}' for i, line in enumerate(lines, 1))
    return f'<pre class="spec">{body}</pre>'


def environment_section(manifest: dict) -> str:
    from . import __version__

    rows = [[k, str(v)] for k, v in (manifest.get("versions") or {}).items()]
    rows += [["backend", str(manifest.get("backend", "?"))]]
    rows += [[f"backend {k}", str(v)] for k, v in (manifest.get("backend_options") or {}).items()]
    rows += [[k, str(manifest[k])] for k in ("seed", "created", "spec_hash", "spec_file", "n_train",
                                             "steps_per_epoch") if k in manifest]
    if manifest.get("overrides"):
        rows.append(["overrides", " ".join(manifest["overrides"])])
    rows.append(["report made", f"{_dt.datetime.now().strftime('%Y-%m-%d %H:%M')} with specc {__version__}, "
                                f"Python {platform.python_version()} on {platform.platform()}"])
    return _table(None, rows)


def results_section(run) -> str:
    keys = list(run.final)
    rows = [[k, _num(run.final.get(k)), _num(run.best.get(k))] for k in keys]
    parts = [_table(["metric", "final (last epoch)", "best epoch"], rows) if rows else
             '<p class="note">no epoch finished</p>']
    if run.test:
        parts.append("<p>test split</p>" + _table(["metric", "value"], [[k, _num(v)] for k, v in run.test.items()]))
    return "\n".join(parts)


def build_report(run_dir, *, use_graphviz: bool = True) -> str:
    """The HTML text of the report for one run directory."""
    from .frontend import compile_text
    from .runinfo import read_history, read_run

    run_dir = rundir.require_run_dir(run_dir)
    manifest = rundir.read_manifest(run_dir)
    spec_path = run_dir / rundir.SPEC
    if not spec_path.exists():
        raise SpecError(f"{run_dir} has no {rundir.SPEC}; is it a specc run directory?", None)
    spec_text = spec_path.read_text(encoding="utf-8")
    program = compile_text(spec_text, path=str(spec_path))
    run = read_run(run_dir)
    history = read_history(run_dir)

    png = curves_png(history)
    curves = (f'<img id="curves-image" alt="learning curves" src="data:image/png;base64,'
              f'{base64.b64encode(png).decode()}">' if png else '<p class="note">no curves (no epoch logged, '
                                                                  'or matplotlib is missing)</p>')
    title = f"{program.model.name}: {run_dir.name}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub"><span class="status {escape(run.status)}">{escape(run.status)}</span> '
        f"{run.steps} steps, {run.epochs} epochs, backend {escape(run.backend)}, {escape(run.created)}</p>",
        "<h2>Learning curves</h2>", f'<div id="curves">{curves}</div>',
        "<h2>Results</h2>", results_section(run),
        "<h2>Confusion matrix</h2>", confusion_section(program, run_dir) if manifest.get("result") else
        '<p class="note">the run has no final weights yet</p>',
        "<h2>Graph</h2>", graph_section(program, use_graphviz),
        "<h2>Spec</h2>", spec_section(spec_text),
        "<h2>Environment</h2>", environment_section(manifest),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style>"
            f"<script>{CHECK_SCRIPT}</script></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(run_dir, path, *, use_graphviz: bool = True) -> Path:
    from .checkpoint import save_text

    path = Path(path)
    save_text(path, build_report(run_dir, use_graphviz=use_graphviz))
    return path
