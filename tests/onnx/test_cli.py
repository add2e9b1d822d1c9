"""`specc export` and `specc predict` end to end, errors included (exit 2, no traceback)."""
import json

import numpy as np
import onnx
import pytest
from onnx_helpers import numpy_forward

from specc.cli import main
from specc.data.preprocess import Preprocess

frontend = pytest.importorskip("specc.frontend")

SPEC = """\
model tiny {
    input features [3]
    dense(8)
    relu
    dense(2, name="logits")
    softmax
}
train {
    loss = cross_entropy
    optimizer = sgd(lr=0.1)
    seed = 7
}
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "tiny.nn"
    path.write_text(SPEC)
    return path


def _run_dir(tmp_path, program, classes=("no", "yes")):
    """A run directory as `specc train` leaves it (weights, preprocess, classes)."""
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal(p.shape).astype(np.float32) for k, _l, p in program.all_params()}
    prep = Preprocess(None, np.array([0, 50, 500], np.float32), np.array([1, 10, 100], np.float32))
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / "weights.npz", **params)
    np.savez(run / "preprocess.npz", **prep.to_arrays())
    (run / "classes.json").write_text(json.dumps(list(classes)))
    return run, params, {"scale": None, "mean": prep.mean, "std": prep.std}


def _raw_inputs(n=7):
    return (np.random.default_rng(1).standard_normal((n, 3)) * [1, 10, 100] + [0, 50, 500]).astype(np.float32)


def _read_out(path):
    lines = path.read_text().splitlines()
    rows = [r.split(",") for r in lines[1:]]
    return lines[0].split(","), [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows])


def test_export_seeded_init_then_predict_npy(spec, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", str(spec), "-o", str(out)]) == 0
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    program = frontend.compile_file(str(spec))
    from specc.init import initial_params

    x = _raw_inputs()
    np.save(tmp_path / "x.npy", x)
    assert main(["predict", str(out), str(tmp_path / "x.npy"), "-o", str(tmp_path / "p.csv")]) == 0
    header, cls, probs = _read_out(tmp_path / "p.csv")
    assert header == ["class", "p_0", "p_1"]
    want = numpy_forward(program, initial_params(program), x)
    np.testing.assert_allclose(probs, want, rtol=1e-5, atol=1e-6)  # CSV keeps 9 significant digits
    assert cls == [str(i) for i in want.argmax(1)]


def test_export_trained_run_then_predict_csv_with_class_names(spec, tmp_path):
    program = frontend.compile_file(str(spec))
    run, params, prep = _run_dir(tmp_path, program)
    out = tmp_path / "m.onnx"
    assert main(["export", str(spec), "--weights", str(run), "-o", str(out)]) == 0
    x = _raw_inputs()
    csv = tmp_path / "x.csv"
    csv.write_text("a,b,c\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in x) + "\n")
    assert main(["predict", str(out), str(csv), "-o", str(tmp_path / "p.csv")]) == 0
    header, cls, probs = _read_out(tmp_path / "p.csv")
    assert header == ["class", "p_no", "p_yes"]
    want = numpy_forward(program, params, x, prep)  # raw inputs: standardization happens in the graph
    np.testing.assert_allclose(probs, want, rtol=1e-5, atol=1e-6)
    assert cls == [["no", "yes"][i] for i in want.argmax(1)]


def test_predict_npz_to_stdout(spec, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    main(["export", str(spec), "-o", str(out)])
    np.savez(tmp_path / "x.npz", x=_raw_inputs(4))
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "x.npz")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "class,p_0,p_1" and len(lines) == 5


def _err(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_predict_wrong_feature_count(spec, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    main(["export", str(spec), "-o", str(out)])
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert main(["predict", str(out), str(tmp_path / "x.csv")]) == 2
    assert "2 features per row but model `tiny` expects 3" in _err(capsys)


@pytest.mark.parametrize("text,message", [
    ("a,b,c\n1,2,3\n1,yes,3\n", "x.csv:3:2: error: column `b` holds `yes`"),
    ("a,b,c\n1,2,3\n1,2\n", "x.csv:3:1: error: row has 2 fields"),
    ("a,b,c\n", "has no rows"),
    ("", "is empty"),
])
def test_predict_bad_csv(spec, tmp_path, capsys, text, message):
    out = tmp_path / "m.onnx"
    main(["export", str(spec), "-o", str(out)])
    (tmp_path / "x.csv").write_text(text)
    assert main(["predict", str(out), str(tmp_path / "x.csv")]) == 2
    assert message in _err(capsys)


def test_predict_refuses_garbage_and_invalid_models(spec, tmp_path, capsys):
    np.save(tmp_path / "x.npy", _raw_inputs(2))
    (tmp_path / "junk.onnx").write_bytes(b"\x00not a model at all")
    assert main(["predict", str(tmp_path / "junk.onnx"), str(tmp_path / "x.npy")]) == 2
    assert "not an ONNX model" in _err(capsys)
    # a well-formed protobuf that fails the checker: a node reads a tensor nobody produces
    out = tmp_path / "m.onnx"
    main(["export", str(spec), "-o", str(out)])
    model = onnx.load(str(out))
    model.graph.node[1].input[0] = "nowhere"
    onnx.save(model, str(tmp_path / "broken.onnx"))
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "broken.onnx"), str(tmp_path / "x.npy")]) == 2
    assert "not a valid ONNX model" in _err(capsys)


def test_export_with_wrong_weights(spec, tmp_path, capsys):
    program = frontend.compile_file(str(spec))
    run, params, _ = _run_dir(tmp_path, program)
    params.pop("logits.bias")
    np.savez(run / "weights.npz", **params)
    assert main(["export", str(spec), "--weights", str(run), "-o", str(tmp_path / "m.onnx")]) == 2
    assert "logits.bias" in _err(capsys)
    assert not (tmp_path / "m.onnx").exists()


def test_regression_and_binary_outputs(tmp_path, capsys):
    reg = tmp_path / "reg.nn"
    reg.write_text("model reg {\n input [2]\n dense(3)\n}\n")
    assert main(["export", str(reg), "-o", str(tmp_path / "reg.onnx")]) == 0
    np.save(tmp_path / "x.npy", np.ones((2, 2), np.float32))
    capsys.readouterr()
    main(["predict", str(tmp_path / "reg.onnx"), str(tmp_path / "x.npy")])
    assert capsys.readouterr().out.splitlines()[0] == "y_0,y_1,y_2"
    binary = tmp_path / "bin.nn"
    binary.write_text('model b {\n input [2]\n dense(1)\n sigmoid\n}\n'
                      'data {\n source = xor()\n classes = ["off", "on"]\n}\n')
    assert main(["export", str(binary), "-o", str(tmp_path / "b.onnx")]) == 0
    capsys.readouterr()
    main(["predict", str(tmp_path / "b.onnx"), str(tmp_path / "x.npy")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "class,p_on" and lines[1].split(",")[0] in ("off", "on")


def test_predict_a_model_with_two_inputs_and_two_outputs(tmp_path, capsys):
    """--input NAME=FILE per model input; the first output as class + probabilities, later ones by name."""
    import numpy as np

    from specc.backends.numpy.backend import NumpyBackend
    from specc.frontend import compile_text
    from specc.init import initial_params

    spec = tmp_path / "two.nn"
    spec.write_text('model two { input a [3]; input b [2]; dense(4, name="ha"); from b; dense(4, name="hb")\n'
                    "concat(ha, hb); dense(2); softmax; output digit; from hb; dense(3); output recon }\n")
    program = compile_text(spec.read_text(), str(spec))
    assert main(["export", str(spec), "-o", str(tmp_path / "two.onnx")]) == 0
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "two.onnx"), "--input", f"a={tmp_path / 'a.npy'}",
                 "--input", f"b={tmp_path / 'b.npy'}"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "class,p_0,p_1,recon.y_0,recon.y_1,recon.y_2"
    digit, recon = NumpyBackend(program, initial_params(program), seed=0).predict([a, b], 8)
    got = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    np.testing.assert_allclose(got, np.concatenate([digit, recon], axis=1), rtol=1e-5, atol=1e-6)
    # a missing input is named
    assert main(["predict", str(tmp_path / "two.onnx"), "--input", f"a={tmp_path / 'a.npy'}"]) == 2
    assert "no file for the model input b" in capsys.readouterr().err
