"""A spec whose data arrives only as arrays from Python needs no data source: its data block may hold just
the preprocessing keys, and the commands that read data say clearly that there is none."""
import numpy as np

import specc
from specc import cli

SPEC = """
model m {
    input v [2]
    dense(2); softmax
}
data  { standardize = true; classes = ["no", "yes"] }
train { loss = cross_entropy; optimizer = adam(lr=0.05); batch = 10; epochs = 20; seed = 0; metrics = [accuracy] }
"""


def _arrays():
    rng = np.random.default_rng(0)
    x = rng.normal(100.0, 5.0, (60, 2))
    return x, np.where(x[:, 0] > 100.0, "yes", "no")


def test_arrays_train_a_spec_whose_data_block_has_no_source(tmp_path):
    x, y = _arrays()
    model = specc.compile(SPEC).train(x=x, y=y, out=tmp_path / "run")
    np.testing.assert_allclose(model.preprocess["mean"], x.mean(0), rtol=1e-5)  # standardize = true applied
    assert model.classes == ("no", "yes")
    assert model.evaluate(x, y)["accuracy"] > 0.9


def test_the_cli_refuses_to_train_without_data_and_says_why(tmp_path, capsys):
    path = tmp_path / "m.nn"
    path.write_text(SPEC)
    assert cli.main(["check", str(path)]) == 0
    assert cli.main(["check", str(path), "--data"]) == 0  # no data files to check
    capsys.readouterr()
    assert cli.main(["train", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "names no `source` or `train`" in err and "train(x=..., y=...)" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()

    path.write_text(SPEC.replace('data  { standardize = true; classes = ["no", "yes"] }', ""))
    assert cli.main(["train", str(path), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no `data { }` block" in err and "train(x=..., y=...)" in err
