"""Every example checks, trains a few steps on every backend, and exports to ONNX.

The MNIST examples read a tiny generated IDX stand-in (the real files are not in
the repository); the others use their own data, cut to one epoch or 3 steps.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import re

import pytest
from repo_paths import EXAMPLES_DIR

EXAMPLES = sorted(glob.glob(os.path.join(EXAMPLES_DIR, "*.nn")))
NAMES = [os.path.basename(p) for p in EXAMPLES]
MNIST = {"mnist_mlp.nn", "lenet.nn", "mnist_cnn.nn"}
BACKENDS = ["numpy"] + (["torch"] if importlib.util.find_spec("torch") else [])


def test_the_examples_are_there():
    expected = {"xor.nn", "perceptron.nn", "perceptron_xor.nn", "oaks.nn", "keras_example.nn", "mnist_mlp.nn",
                "lenet.nn", "mnist_cnn.nn", "digits.nn", "spirals.nn", "autoencoder.nn",
                "char_gpt.nn", "brackets_lstm.nn", "reviews_gru.nn"}
    assert expected <= set(NAMES)


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_example_checks(cli, path):
    code, out, err = cli("check", path)
    assert code == 0, err
    assert out.startswith("ok:")


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_header_documents_command_and_measured_result(path):
    """The comment block says how to run the file and what it gave (no placeholder left)."""
    text = open(path, encoding="utf-8").read()
    header = text.split("\nmodel ", 1)[0].split("\nblock ", 1)[0]
    name = os.path.basename(path)
    assert f"specc train examples/{name}" in header
    assert re.search(r"^# Result: \S", header, re.M), "no `# Result:` line"
    assert "RESULT_" not in header


def short_run(path: str, mnist_dir: str) -> list[str]:
    """--set overrides that make a run tiny: 3 steps (or 1 epoch of small data), MNIST -> stand-in."""
    from specc.frontend import compile_file

    program = compile_file(path)
    sets = ["train.steps=3"] if program.train.steps is not None else ["train.epochs=1"]
    if os.path.basename(path) in MNIST:
        sets += [f'data.train=mnist("{mnist_dir}", part="train")', f'data.test=mnist("{mnist_dir}", part="test")']
    return [a for s in sets for a in ("--set", s)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_example_trains_and_exports(cli, tmp_path, mnist_dir, path, backend):
    if 'sklearn("' in open(path, encoding="utf-8").read() and importlib.util.find_spec("sklearn") is None:
        pytest.skip("needs scikit-learn (its bundled data sets)")
    sets = short_run(path, mnist_dir)
    run_dir = tmp_path / "run"
    code, out, err = cli("train", path, "--backend", backend, "--out", run_dir, "--quiet", *sets)
    assert code == 0, err
    assert (run_dir / "weights.npz").exists() and (run_dir / "metrics.csv").exists()
    if backend != "numpy" or importlib.util.find_spec("onnx") is None:
        return
    onnx_file = tmp_path / "model.onnx"
    code, out, err = cli("export", path, "--weights", run_dir, "-o", onnx_file, *sets)
    assert code == 0, err
    assert onnx_file.stat().st_size > 0


def test_examples_are_in_canonical_format(cli):
    code, out, err = cli("fmt", "--check", *EXAMPLES)
    assert code == 0, out + err


@pytest.mark.skipif("torch" not in BACKENDS, reason="verify compares against the torch backend")
@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_example_backends_agree(cli, path):
    """`specc verify`: NumPy, PyTorch and ONNX give the same outputs and gradients (its default tolerances)."""
    code, out, err = cli("verify", path)
    assert code == 0, out + err
    assert "agree within tolerance" in out
