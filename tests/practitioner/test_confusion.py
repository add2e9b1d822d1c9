"""confusion.csv / confusion.png at the end of training, and the matrix printed by `specc eval`."""
from __future__ import annotations

import csv

import time

import numpy as np
import pytest

from specc import cli, confusion, driver, evaluation
from specc.frontend import compile_file

skm = pytest.importorskip("sklearn.metrics")

SPEC = """model blobs3 {{
    input x [2]
    dense(3)
    {last}
}}
data {{
    source = blobs(n=120, centers=3)
    split = {split}
}}
train {{
    loss = {loss}
    optimizer = sgd(lr=0.2)
    epochs = 3
    metrics = [accuracy, f1, auc]
    seed = 2
}}
"""


def _write(tmp_path, split="[0.6, 0.2, 0.2]", last="softmax", loss="cross_entropy"):
    path = tmp_path / "blobs3.nn"
    path.write_text(SPEC.format(split=split, last=last, loss=loss))
    return path


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array([[int(v) for v in r[1:]] for r in rows[1:]])


@pytest.mark.parametrize("split,part", [("[0.6, 0.2, 0.2]", "test"), ("[0.8, 0.2, 0.0]", "val")])
def test_training_writes_the_matrix_of_the_test_split_else_val(tmp_path, split, part):
    path = _write(tmp_path, split)
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--out", str(out), "--quiet"]) == 0
    header, matrix = _read_csv(out / confusion.CSV_NAME)
    assert header == ["true\\predicted", "0", "1", "2"]
    program = compile_file(str(path))
    row, expected, _ = evaluation.evaluate_run(program, out, split=part, confusion=True)
    from specc.data import load_data

    y = getattr(load_data(program), part).y
    assert matrix.sum() == len(y)
    np.testing.assert_array_equal(matrix, expected)
    # `specc train` prints the result first; confusion.png follows with curves.png, drawn in the background
    png = out / confusion.PNG_NAME
    deadline = time.monotonic() + 60
    while not png.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_the_matrix_equals_scikit_learns(tmp_path):
    path = _write(tmp_path)
    program = compile_file(str(path))
    result = driver.train(program, out=tmp_path / "run")
    from specc.data import load_data

    data = load_data(program)
    _row, matrix, _ = evaluation.evaluate_run(program, result.run_dir, split="test", confusion=True)
    from specc.backends.numpy.backend import NumpyBackend

    be = NumpyBackend(program, result.params, seed=0)
    be.put_data("test", data.test.inputs, data.test.targets)
    _loss, outputs = be.evaluate("test", 64)
    pred = np.asarray(outputs[0] if isinstance(outputs, list) else outputs).argmax(1)
    np.testing.assert_array_equal(matrix, skm.confusion_matrix(data.test.y, pred, labels=range(3)))


def test_eval_prints_the_matrix(tmp_path, capsys):
    path = _write(tmp_path)
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["eval", str(path), "--weights", str(out)]) == 0
    text = capsys.readouterr().out
    assert "confusion matrix:" in text and "true \\ predicted" in text
    _header, matrix = _read_csv(out / confusion.CSV_NAME)
    last = text.strip().splitlines()[-3:]
    assert [[int(v) for v in line.split()[1:]] for line in last] == matrix.tolist()


def test_regression_runs_get_no_matrix(tmp_path):
    path = _write(tmp_path, last="identity", loss="mse").read_text().replace("metrics = [accuracy, f1, auc]",
                                                                             "metrics = [r2]")
    spec = tmp_path / "reg.nn"
    spec.write_text(path)
    out = tmp_path / "run"
    assert cli.main(["train", str(spec), "--out", str(out), "--quiet"]) == 0
    assert not (out / confusion.CSV_NAME).exists()


def test_render_uses_class_names():
    text = confusion.render(np.array([[5, 1], [0, 7]]), ("cat", "dog"))
    assert text.splitlines() == ["true \\ predicted  cat  dog", "cat                 5    1",
                                 "dog                 0    7"]
