"""`specc report`: one self-contained HTML page, checked in headless Chromium when it can be had."""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from specc import cli
from specc.report import build_report, confusion_matrix
from specc.svggraph import graph_svg

from .conftest import train

RESIDUAL = """
model res {
    input x [2]
    dense(8)
    residual {
        dense(8)
        relu
    }
    dense(1)
}
"""


@pytest.fixture
def moons_run(specs, tmp_path):
    out = tmp_path / "moons-run"
    assert train(specs["moons"], out) == 0
    return out


def test_page_is_self_contained_and_has_every_section(moons_run, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert cli.main(["report", str(moons_run), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    html = out.read_text()
    # nothing to fetch: no external src/href/url(), the image is inline
    assert not re.search(r'''(src|href)\s*=\s*["']?(https?:|//)''', html) and "url(http" not in html
    assert "@import" not in html and 'src="data:image/png;base64,' in html
    for heading in ("Learning curves", "Results", "Confusion matrix", "Graph", "Spec", "Environment"):
        assert f"<h2>{heading}</h2>" in html
    # the spec with line numbers, every line of spec.nn
    lines = (moons_run / "spec.nn").read_text().rstrip("\n").split("\n")
    assert f'<span class="ln">{len(lines)}</span>}}' in html
    assert '<span class="ln"> 1</span>model moons {' in html
    # the confusion matrix: the test split's 16 samples, the accuracy the run reported
    import json

    test = json.loads((moons_run / "manifest.json").read_text())["result"]["test"]
    m = re.search(r"test split, (\d+) samples, accuracy ([0-9.]+)", html)
    assert m and int(m.group(1)) == 16 and float(m.group(2)) == pytest.approx(test["accuracy"], abs=1e-4)
    assert "<svg" in html and "dense_1" in html and "numpy" in html


def test_default_output_and_no_confusion_matrix_without_a_classification_loss(specs, tmp_path):
    run = tmp_path / "xor"
    assert train(specs["xor"], run) == 0  # loss = mse: not treated as a classifier
    assert cli.main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    assert "not a classifier" in html and "<table class=\"cm\">" not in html


def test_confusion_matrix_from_probabilities_logits_and_one_hot():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert confusion_matrix(probs, np.array([0, 1, 1]), 2).tolist() == [[1, 0], [1, 1]]
    assert confusion_matrix(probs, np.eye(2)[[0, 1, 1]], 2).tolist() == [[1, 0], [1, 1]]
    sigmoid = np.array([[0.7], [0.2]])
    assert confusion_matrix(sigmoid, np.array([[1.0], [1.0]]), 2).tolist() == [[0, 0], [1, 1]]


def test_own_svg_draws_residuals_with_their_skip_edge():
    """A residual is an add node fed by its body and, dashed, by the shortcut from the residual's input."""
    from specc.frontend import compile_text

    svg = graph_svg(compile_text(RESIDUAL))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert ">+</text>" in svg and ">residual_1</text>" in svg
    assert svg.count("<rect") == 2 + 4  # input, output, dense_1, dense_2, relu_1, dense_3
    assert svg.count("stroke-dasharray") == 1  # the shortcut dense_1 -> +
    assert svg.count("<line") == 6  # every other edge comes from the node just above
    import xml.dom.minidom

    xml.dom.minidom.parseString(svg)  # well-formed


TWO_INPUTS = """
model two_inputs {
    input image [1, 8, 8]
    input meta [10]
    conv2d(4, 3); relu; flatten(name="img")
    from meta
    dense(16); relu(name="tab")
    concat(img, tab)
    dense(10); softmax
}
"""


def test_own_svg_draws_several_inputs_and_merges():
    from specc.frontend import compile_text

    svg = graph_svg(compile_text(TWO_INPUTS))
    assert ">image</text>" in svg and ">meta</text>" in svg and ">⧺</text>" in svg
    # edges that skip ahead: image -> conv2d (drawn below meta), meta -> dense_1, img -> concat
    assert svg.count("stroke-dasharray") == 3
    import xml.dom.minidom

    xml.dom.minidom.parseString(svg)


def test_bad_run_directory_exits_2(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (CI installs it with apt-get install chromium; "
                "the browser check of the report page is skipped)")


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
         "--disable-extensions", "--no-first-run", "--hide-scrollbars", "--window-size=1200,1600"]


def test_page_loads_in_chromium_and_the_screenshot_shows_the_curves(moons_run, tmp_path):
    browser = chromium()
    page = tmp_path / "report.html"
    assert cli.main(["report", str(moons_run), "-o", str(page)]) == 0
    url = page.as_uri()
    dom = subprocess.run([browser, *FLAGS, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-check="ok"' in body, body  # the page's own check: every image decoded, no error event
    left, top, width, height = map(int, re.search(r'data-curves="([\d,]+)"', body).group(1).split(","))
    assert width > 300 and height > 150

    shot = tmp_path / "shot.png"
    subprocess.run([browser, *FLAGS, f"--screenshot={shot}", url], capture_output=True, timeout=120)
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    curves = pixels[top:top + height, left:left + width]
    blank = pixels[top:top + height, left + width + 40:]  # right of the curves: the page's empty margin
    assert blank.size and np.ptp(blank) == 0, "the margin next to the curves should be blank"
    differs = np.abs(curves - blank[:, :1].mean(axis=(0, 1))).sum(axis=-1) > 0.1
    assert differs.mean() > 0.02, f"only {differs.mean():.2%} of the curves region is drawn"
    # coloured lines, not just black axes and text
    coloured = (np.ptp(curves, axis=-1) > 0.25).mean()
    assert coloured > 0.002, coloured
