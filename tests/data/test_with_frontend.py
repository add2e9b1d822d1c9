"""The data package driven from real `.nn` text, through the front end and the CLI."""
import numpy as np
import pytest

frontend = pytest.importorskip("specc.frontend")

from specc.cli import main  # noqa: E402
from specc.data import check_data, load_data  # noqa: E402

SPEC = """
model m {{
    input {shape}
    dense(3)
    softmax
}}
data {{
    {data}
}}
train {{
    loss = cross_entropy
    optimizer = sgd(lr=0.1)
    seed = 7
}}
"""


def spec(tmp_path, data, shape="[4]"):
    p = tmp_path / "m.nn"
    p.write_text(SPEC.format(data=data, shape=shape))
    return p


def test_csv_labels_relative_path(tmp_path):
    (tmp_path / "d").mkdir()
    rows = "\n".join(f"{i},{i % 3},{i * 2},{-i},{'abc'[i % 3]}" for i in range(30))
    (tmp_path / "d" / "train.csv").write_text("a,b,c,d,label\n" + rows + "\n")
    p = spec(tmp_path, 'train = csv("d/train.csv", target="label")\n    val = 0.2\n    standardize = true')
    ds = load_data(frontend.compile_file(str(p)))
    assert ds.classes == ("a", "b", "c")
    assert (len(ds.train), len(ds.val)) == (24, 6)
    assert np.bincount(ds.val.y).tolist() == [2, 2, 2]  # stratified


def test_check_data_positions_point_into_the_spec(tmp_path):
    (tmp_path / "train.csv").write_text("a,b,c,d,e,label\n1,2,3,4,5,x\n")
    p = spec(tmp_path, 'train = csv("train.csv", target="label")')
    [err] = check_data(frontend.compile_file(str(p)))
    assert err.pos.file == str(p) and err.pos.line == 8
    assert "train.csv has 5 feature columns; the model input is [4]" in err.render()
    assert 'csv("train.csv"' in err.render()  # the spec line is shown


def test_cli_check_data_exit_code(tmp_path, capsys):
    (tmp_path / "train.csv").write_text("a,b,c,d,label\n1,2,3,4,x\n1,2,3\n")
    p = spec(tmp_path, 'train = csv("train.csv", target="label")')
    assert main(["check", str(p)]) == 0  # plain check reads no data files
    assert main(["check", "--data", str(p)]) == 2
    err = capsys.readouterr().err
    assert "train.csv:3:1: error: line 3 has 3 fields" in err


def test_generated_source_with_default_split(tmp_path):
    p = spec(tmp_path, "source = blobs(90, 3)", shape="[2]")
    ds = load_data(frontend.compile_file(str(p)))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 90
