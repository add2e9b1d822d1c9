import numpy as np
import pytest

from specbuild import data_error
from specc.data import SOURCES, check_data, load_data
from specc.errors import SpecError, SpecErrors
from specc.ir import DataSpec, InputPrep, Source
from specc.ops import REQUIRED


def csv_file(tmp_path, text, name="d.csv"):
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_sources_table_shape():
    for name, args in SOURCES.items():
        for arg, typ, default in args:
            assert isinstance(arg, str) and (typ in {"int", "float", "str", "str?", "names", "path", "names?", "size",
                                                     "channels", "char"} or isinstance(typ, tuple))
    assert SOURCES["csv"][0] == ("path", "path", REQUIRED)
    assert [a for a, _, _ in SOURCES["mnist"]] == ["dir", "part"]


def test_unknown_and_missing_source_arguments_are_front_end_errors():
    text = data_error("source = moons(nosie=0.1)")
    assert "nosie" in text and "did you mean `noise`" in text
    assert "path" in data_error("train = csv()")
    assert "unknown data source `mnsit`" in data_error('train = mnsit("x")')


def test_regression_targets_take_the_output_shape(tmp_path, program):
    p = csv_file(tmp_path, "a,b,y\n1,2,0.5\n3,4,1.5\n")
    ds = load_data(program(DataSpec(train=Source("csv", {"path": p})), loss="mse", out_op="identity",
                           output_shape=(1,)))
    assert ds.train.y.dtype == np.float32 and ds.train.y.shape == (2, 1) and ds.classes is None
    assert ds.task == "regression"


def test_regression_shape_mismatch(tmp_path, program):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.ones((4, 2)), y=np.ones((4, 3)) * 0.5)
    [err] = check_data(program(DataSpec(train=Source("npz", {"path": str(p)})), loss="mse", out_op="identity",
                               output_shape=(2,)))
    assert "3 target values per sample; the model output is [2]" in err.message


def test_mse_with_class_labels_is_one_hot(tmp_path, program, idx):
    """Nielsen's MNIST network: quadratic cost against one-hot vectors."""
    idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    idx(tmp_path / "train-labels-idx1-ubyte", np.array([3, 0, 9], np.uint8))
    ds = load_data(program(DataSpec(train=Source("mnist", {"dir": str(tmp_path)})), input_shape=(784,),
                           output_shape=(10,), out_op="sigmoid", loss="mse"))
    np.testing.assert_array_equal(ds.train.y, np.eye(10, dtype=np.float32)[[3, 0, 9]])


def test_bce_single_output_takes_0_1_indices(program):
    ds = load_data(program(DataSpec(source=Source("xor", {})), loss="bce", out_op="sigmoid", output_shape=(1,)))
    assert ds.train.y.dtype == np.int64 and ds.task == "classification"
    ds = load_data(program(DataSpec(source=Source("blobs", {"n": 9, "centers": 3})), loss="bce",
                           out_op="sigmoid", output_shape=(3,)))
    assert ds.train.y.shape == (9, 3)  # several bce outputs: one-hot float targets
    [err] = check_data(program(DataSpec(source=Source("blobs", {"n": 9, "centers": 3})), loss="bce",
                               out_op="sigmoid", output_shape=(1,)))
    assert "label 2 but bce with one output takes labels 0 and 1" in err.message


def test_class_index_errors(tmp_path, program):
    p = csv_file(tmp_path, "a,y\n1,0\n2,1.5\n")
    [err] = check_data(program(DataSpec(train=Source("csv", {"path": p})), input_shape=(1,)))
    assert "target 1.5 is not a class index" in err.message and err.pos.line == 3
    p = csv_file(tmp_path, "a,y\n1,0\n2,-1\n")
    [err] = check_data(program(DataSpec(train=Source("csv", {"path": p})), input_shape=(1,)))
    assert "label -1 is not a class index" in err.message
    p = csv_file(tmp_path, "a,y\n1,0\n2,5\n")
    [err] = check_data(program(DataSpec(train=Source("csv", {"path": p}), classes=("a", "b")),
                               input_shape=(1,), output_shape=(10,)))
    assert "label 5 but `classes` names 2 classes" in err.message


def test_autoencoder_targets_are_the_preprocessed_inputs(program):
    spec = DataSpec(source=Source("moons", {"n": 30}), target="input", prep=(InputPrep("x", standardize=True),))
    ds = load_data(program(spec, output_shape=(2,), out_op="identity", loss="mse"))
    assert ds.train.y is not None and np.shares_memory(ds.train.y, ds.train.x)
    np.testing.assert_array_equal(ds.train.y, ds.train.x)
    assert ds.task == "autoencoder"
    [err] = check_data(program(spec, output_shape=(3,), out_op="identity", loss="mse"))
    assert "target = input needs the model output to match the input" in err.message


def test_csv_autoencoder_uses_every_column(tmp_path, program):
    p = csv_file(tmp_path, "a,b,c\n1,2,3\n4,5,6\n")
    ds = load_data(program(DataSpec(train=Source("csv", {"path": p}), target="input"), input_shape=(3,),
                           output_shape=(3,), out_op="identity", loss="mse"))
    assert ds.train.x.shape == (2, 3)


def test_check_reports_every_bad_source(tmp_path, program):
    good = csv_file(tmp_path, "a,b,y\n1,2,0\n", "good.csv")
    bad = csv_file(tmp_path, "a,b,y\n1,2\n", "bad.csv")
    spec = DataSpec(train=Source("csv", {"path": bad}), test=Source("csv", {"path": "missing.csv"}))
    p = program(spec, path=str(tmp_path / "m.nn"))
    errs = check_data(p)
    assert len(errs) == 2
    with pytest.raises(SpecErrors):
        load_data(p)
    assert check_data(program(DataSpec(train=Source("csv", {"path": good})))) == []


def test_data_errors_in_files_do_not_show_spec_lines(tmp_path, program):
    p = csv_file(tmp_path, "a,y\n1,0\n2,-1\n")
    [err] = check_data(program(DataSpec(train=Source("csv", {"path": p})), input_shape=(1,)))
    assert err.source == ""  # a Collector must not attach the spec's text to a CSV position


def test_without_train_block_softmax_means_classes(program):
    ds = load_data(program(DataSpec(source=Source("moons", {"n": 10})), train=False))
    assert ds.train.y.dtype == np.int64


def test_no_data_block(program):
    assert check_data(program(None)) == []
    with pytest.raises(SpecError, match="no data block"):
        load_data(program(None))


def test_relative_paths_resolve_against_the_spec(tmp_path, program):
    (tmp_path / "sub").mkdir()
    csv_file(tmp_path / "sub", "a,b,y\n1,2,0\n")
    ds = load_data(program(DataSpec(train=Source("csv", {"path": "sub/d.csv"})), path=str(tmp_path / "m.nn")))
    assert len(ds.train) == 1


def test_cli_maps_data_errors_to_exit_code_2(tmp_path, program, monkeypatch, capsys):
    import argparse

    import specc.cli as cli

    bad = csv_file(tmp_path, "a,b,y\n1,2\n", "bad.csv")

    def run(args):
        load_data(program(DataSpec(train=Source("csv", {"path": bad}))))

    parser = argparse.ArgumentParser()
    parser.set_defaults(func=run)
    monkeypatch.setattr(cli, "build_parser", lambda only=None: parser)
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert "bad.csv:2:1: error: line 2 has 2 fields; the header has 3" in err and "Traceback" not in err


def test_task_names(program, tmp_path, idx):
    idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    idx(tmp_path / "train-labels-idx1-ubyte", np.array([3, 1], np.uint8))
    ds = load_data(program(DataSpec(train=Source("mnist", {"dir": str(tmp_path)})), input_shape=(784,),
                           output_shape=(10,), out_op="sigmoid", loss="mse"))
    assert ds.task == "classification" and ds.train.y.dtype == np.float32  # one-hot, still classes
