"""Non-finite data, predict's inputs and outputs, and flags that mean nothing (issue 17, items 5-7)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from faultlib import TINY

NPZ_SPEC = """\
model m {
    input x [2]
    dense(2)
    softmax
}
data { source = npz("DATA"); split = [1.0, 0.0, 0.0]; STD }
train { loss = cross_entropy; optimizer = sgd(lr=0.1); batch = 4; epochs = 1 }
"""


def _npz_spec(tmp_path, x, standardize=False):
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(len(x)) % 2)
    spec = tmp_path / "m.nn"
    spec.write_text(NPZ_SPEC.replace("DATA", str(tmp_path / "d.npz"))
                    .replace("STD", "standardize = true" if standardize else "shuffle = true"))
    return spec


@pytest.mark.parametrize("value, words", [(np.nan, "is nan"), (np.inf, "is inf"), (-np.inf, "is -inf"),
                                          (1e300, "beyond float32's range")])
def test_nonfinite_or_overflowing_npz_inputs_are_refused_at_check_and_train(cli, tmp_path, value, words):
    x = np.ones((8, 2), np.float64)
    x[5, 1] = value
    spec = _npz_spec(tmp_path, x)
    for cmd in (("check", spec, "--data"), ("train", spec, "--quiet", "--out", tmp_path / "run")):
        code, _, err = cli(*cmd)
        assert code == 2 and "d.npz" in err and "row 5, feature 1" in err and words in err, err
    assert not (tmp_path / "run").exists()


def test_overflow_after_standardization_is_refused_before_training(cli, tmp_path):
    """A feature with a tiny spread in train and a large value in test overflows float32 once standardized."""
    x = np.zeros((8, 2), np.float32)
    x[:, 0] = np.arange(8) * 1e-30
    np.savez(tmp_path / "train.npz", x=x, y=np.arange(8) % 2)
    x[3, 0] = 1e10
    np.savez(tmp_path / "test.npz", x=x, y=np.arange(8) % 2)
    spec = tmp_path / "m.nn"
    spec.write_text(NPZ_SPEC.replace('source = npz("DATA"); split = [1.0, 0.0, 0.0]',
                                     f'train = npz("{tmp_path / "train.npz"}"); val = 0; '
                                     f'test = npz("{tmp_path / "test.npz"}")').replace("STD", "standardize = true"))
    code, _, err = cli("train", spec, "--quiet", "--out", tmp_path / "run")
    assert code == 2 and "test split's input at row 3, feature 0 becomes inf after standardization" in err, err


def test_csv_value_overflowing_float32_is_refused(cli, tmp_path):
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,0\n1e300,2,1\n3,4,0\n5,6,1\n")
    spec = tmp_path / "m.nn"
    spec.write_text(NPZ_SPEC.replace('npz("DATA")', f'csv("{tmp_path / "d.csv"}")').replace("STD", "shuffle = true"))
    code, _, err = cli("check", spec, "--data")
    assert code == 2 and "d.csv" in err and "line 3" in err and "beyond float32" in err, err


@pytest.fixture
def onnx_model(cli, tmp_path):
    spec = tmp_path / "tiny.nn"
    spec.write_text(TINY)
    assert cli("export", spec, "-o", tmp_path / "m.onnx")[0] == 0
    return tmp_path / "m.onnx"


def test_predict_refuses_nan_rows_unless_allowed(cli, onnx_model, tmp_path):
    x = np.ones((4, 2), np.float32)
    x[2, 0] = np.nan
    np.save(tmp_path / "x.npy", x)
    code, _, err = cli("predict", onnx_model, tmp_path / "x.npy")
    assert code == 2 and "row 3 holds NaN or inf" in err and "--allow-nan" in err
    code, out, err = cli("predict", onnx_model, tmp_path / "x.npy", "--allow-nan")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 5 and set(lines[3]) == {","} and "nan" not in out.lower(), out


def test_predict_edge_inputs_and_outputs_are_errors_not_tracebacks(cli, onnx_model, tmp_path):
    np.save(tmp_path / "zero_d.npy", np.float32(3))
    code, _, err = cli("predict", onnx_model, tmp_path / "zero_d.npy")
    assert code == 2 and "0-d array" in err
    np.save(tmp_path / "x.npy", np.ones((3, 2), np.float32))
    for out, words in ((tmp_path, "is a directory"), (tmp_path / "missing" / "p.csv", "does not exist"),
                       (tmp_path / "x.npy" / "p.csv", "not a directory")):
        code, _, err = cli("predict", onnx_model, tmp_path / "x.npy", "-o", out)
        assert code == 2 and words in err and "Traceback" not in err, err
    (tmp_path / "big.csv").write_text("a,b\n" + "1," + "9" * 200_000 + "\n")
    code, _, err = cli("predict", onnx_model, tmp_path / "big.csv")
    assert code == 2 and "field larger than field limit" in err, err
    spec = tmp_path / "tiny.nn"
    code, _, err = cli("predict", spec, tmp_path / "x.npy")
    assert code == 2 and "export it first" in err


def test_predict_refuses_a_model_whose_output_is_not_one_row_per_input(cli, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [])
    graph = helper.make_graph([helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0)], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "scalar.onnx")
    np.save(tmp_path / "x.npy", np.ones((3, 2), np.float32))
    code, _, err = cli("predict", tmp_path / "scalar.onnx", tmp_path / "x.npy")
    assert code == 2 and "not one row per input" in err and "Traceback" not in err, err


def test_predict_class_names_cannot_run_as_spreadsheet_formulas():
    import io

    from specc.commands.predict import write_csv

    out = io.StringIO()
    write_csv(["class", "p_=1+1"], [["=HYPERLINK(\"x\")", 0.5], ["+cmd", 0.5], ["cat", 0.5]], out)
    assert out.getvalue().splitlines() == ["class,p_=1+1", "\"'=HYPERLINK(\"\"x\"\")\",0.5", "'+cmd,0.5", "cat,0.5"]


def test_predict_into_a_closed_pipe_exits_quietly(cli, onnx_model, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((50000, 2), np.float32))
    cmd = f"{sys.executable} -m specc predict {onnx_model} {tmp_path / 'x.npy'} | head -3"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert len(done.stdout.splitlines()) == 3
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


@pytest.mark.parametrize("flag", [["--amp"], ["--compile"], ["--device", "cuda"]])
def test_torch_flags_with_the_numpy_backend_are_errors(cli, tiny_spec, tmp_path, flag):
    code, _, err = cli("train", tiny_spec, "--quiet", "--out", tmp_path / "run", *flag)
    assert code == 2 and "only apply to the torch backend" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("manifest", ["[1, 2]", '{"spec_hash": 5}', '{"backend": ["numpy"]}', "nul"])
def test_a_manifest_of_the_wrong_shape_is_a_clear_error(cli, tiny_run, tiny_spec, manifest):
    (tiny_run / "manifest.json").write_text(manifest)
    code, _, err = cli("train", tiny_spec, "--resume", tiny_run, "--quiet")
    assert code == 2 and "manifest.json is corrupt" in err and "Traceback" not in err, err


@pytest.mark.parametrize("edit", [{"step": "ten"}, {"history": {}}, {"epoch": -1}, {"best_value": [1]}])
def test_hand_edited_checkpoint_metadata_is_a_clear_error(cli, tiny_run, tiny_spec, edit):
    from specc.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(tiny_run / "checkpoint.npz")
    ckpt.meta.update(edit)
    save_checkpoint(tiny_run / "checkpoint.npz", ckpt)
    code, _, err = cli("train", tiny_spec, "--resume", tiny_run, "--set", "train.epochs=4", "--quiet")
    assert code == 2 and "corrupt checkpoint metadata" in err and "Traceback" not in err, err


@pytest.mark.parametrize("cmd", [
    ["export", "{spec}", "-o", "{file}/m.onnx"],
    ["export", "{spec}", "-o", "{dir}"],
    ["graph", "{spec}", "-o", "{dir}/missing/g.dot"],
    ["graph", "{spec}", "-o", "{file}/g.dot"],
    ["schedule", "{spec}", "--plot", "{dir}/missing/lr.png"],
    ["schedule", "{spec}", "--plot", "{file}/lr.png"],
])
def test_output_paths_under_a_missing_directory_or_a_file_are_errors(cli, tiny_spec, tmp_path, cmd):
    (tmp_path / "afile").write_text("x")
    argv = [c.format(spec=tiny_spec, file=tmp_path / "afile", dir=tmp_path) for c in cmd]
    code, _, err = cli(*argv)
    assert code == 2 and "Traceback" not in err and ("not a directory" in err or "does not exist" in err
                                                      or "is a directory" in err), err


def test_export_weights_that_are_not_an_npz_is_an_error(cli, tiny_run, tiny_spec, tmp_path):
    np.save(tmp_path / "x.npy", np.ones(3))
    code, _, err = cli("export", tiny_spec, "--weights", tmp_path / "x.npy", "-o", tmp_path / "m.onnx")
    assert code == 2 and "not a weights archive" in err


def test_exported_model_gets_the_umasks_permissions(cli, tiny_spec, tmp_path):
    old = os.umask(0o022)
    try:
        assert cli("export", tiny_spec, "-o", tmp_path / "m.onnx")[0] == 0
    finally:
        os.umask(old)
    assert (tmp_path / "m.onnx").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("delimiter", ["ab", ""])
def test_csv_delimiter_of_other_than_one_character(cli, tmp_path, delimiter):
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
    spec = tmp_path / "m.nn"
    spec.write_text(NPZ_SPEC.replace('npz("DATA")', f'csv("{tmp_path / "d.csv"}", delimiter="{delimiter}")')
                    .replace("STD", "shuffle = true"))
    code, _, err = cli("check", spec)  # the front end's check: no need to read the data
    assert code == 2 and "`delimiter` must be one character" in err and "Traceback" not in err, err


BATCHNORM = """\
model bn {
    input x [2]
    dense(4)
    batchnorm
    relu
    dense(2)
    softmax
}
data { source = moons(n=9); split = [1.0, 0.0, 0.0] }
train { loss = cross_entropy; optimizer = sgd(lr=0.1); batch = 4; epochs = 1 }
"""


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_batchnorm_on_a_one_sample_last_batch_is_one_error_on_both_backends(cli, tmp_path, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    spec = tmp_path / "bn.nn"
    spec.write_text(BATCHNORM)
    code, _, err = cli("check", spec, "--data")
    assert code == 2 and "cannot train on a batch of one sample" in err and "e.g. 3, 5, 6" in err, err
    code, _, err = cli("train", spec, "--backend", backend, "--quiet", "--out", tmp_path / "run")
    assert code == 2 and "the last batch of each epoch (9 samples, batch 4) holds one" in err, err
    code, _, err = cli("train", spec, "--backend", backend, "--quiet", "--out", tmp_path / "run",
                       "--set", "train.batch=5")
    assert code == 0, err


def test_verify_batch_1_with_batchnorm_is_an_error_not_a_traceback(cli, tmp_path):
    pytest.importorskip("torch")
    spec = tmp_path / "bn.nn"
    spec.write_text(BATCHNORM)
    code, _, err = cli("verify", spec, "--batch", "1", "--no-onnx")
    assert code == 2 and "cannot train on a batch of one sample" in err and "Traceback" not in err, err


STANDARDIZED = TINY.replace("    val = 0\n", "    val = 0\n    standardize = true\n")


@pytest.mark.parametrize("arrays", [{"mean": np.zeros(5), "std": np.ones(5)}, {"scale": np.ones(3)},
                                    {"mean": np.array(["a", "b"]), "std": np.ones(2)},
                                    {"mean": np.zeros(2), "std": np.zeros(2)}])
def test_a_wrong_preprocess_npz_is_a_clear_error(cli, tmp_path, arrays):
    import specc

    spec = tmp_path / "s.nn"
    spec.write_text(STANDARDIZED)
    run = tmp_path / "run"
    assert cli("train", spec, "--out", run, "--quiet")[0] == 0
    np.savez(run / "preprocess.npz", **arrays)
    for cmd in (("eval", spec, "--weights", run, "--split", "train"),
                ("export", spec, "--weights", run, "-o", tmp_path / "m.onnx")):
        code, _, err = cli(*cmd)
        assert code == 2 and "preprocess.npz" in err and "Traceback" not in err, (cmd, err)
    with pytest.raises(specc.errors.SpecError, match="preprocess.npz"):
        specc.load(run)


def test_an_error_in_a_set_data_source_shows_the_override(cli, tiny_spec, tmp_path):
    for cmd in ("check", "train"):
        extra = ("--data",) if cmd == "check" else ("--quiet", "--out", tmp_path / "run")
        code, _, err = cli(cmd, tiny_spec, *extra, "--set", "train.epochs=2", "--set", 'data.train=npz("nope.npz")')
        assert code == 2 and "--set:2:" in err and '    2 | data.train=npz("nope.npz")' in err, err
        assert "model tiny" not in err  # not a line of the spec
    assert not (tmp_path / "run").exists()  # the failed start left no directory behind
