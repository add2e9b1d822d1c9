"""`specc compare`: the spec diff, the final metrics side by side, one PNG of overlaid curves."""
from __future__ import annotations

import numpy as np

from specc import cli

from .conftest import train


def test_diff_metrics_and_overlaid_curves(specs, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert train(specs["moons"], a) == 0
    assert train(specs["moons"], b, "train.optimizer=adam(lr=0.05)", "train.epochs=4") == 0
    capsys.readouterr()
    png = tmp_path / "cmp.png"
    assert cli.main(["compare", str(a), str(b), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert f"--- {a}/spec.nn" in out and f"+++ {b}/spec.nn" in out
    assert "-    optimizer = adam(lr=0.01)" in out and "+    optimizer = adam(lr=0.05)" in out
    assert "-    epochs = 6" in out and "+    epochs = 4" in out
    assert "batch" not in out.split("+++")[1].split("\n\n")[0].replace("batch = 8", "")  # unchanged lines are context only
    table = out[out.index("status"):].splitlines()
    assert table[0].split() == ["status", "finished", "finished"]
    assert table[1].split() == ["steps", "36", "24"]
    assert [row.split()[0] for row in table[2:5]] == ["train_loss", "val_loss", "val_accuracy"]
    assert any(row.startswith("test accuracy") for row in table)

    from matplotlib.image import imread

    pixels = imread(png)
    assert pixels.shape[1] > pixels.shape[0] > 100  # loss and accuracy panels side by side
    assert np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0).shape[0] > 50  # lines drawn, not blank


def test_same_spec_says_so(specs, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert train(specs["xor"], a) == 0 and train(specs["xor"], b) == 0
    capsys.readouterr()
    assert cli.main(["compare", str(a), str(b), "--plot", ""]) == 0
    assert f"spec: {b} is the same as {a}" in capsys.readouterr().out


def test_bad_arguments_exit_2(specs, tmp_path, capsys):
    a = tmp_path / "a"
    assert train(specs["xor"], a) == 0
    assert cli.main(["compare", str(a)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert cli.main(["compare", str(a), str(tmp_path / "missing"), "--plot", ""]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["compare", str(a), str(tmp_path / "empty"), "--plot", ""]) == 2
    assert "not a specc run directory" in capsys.readouterr().err
