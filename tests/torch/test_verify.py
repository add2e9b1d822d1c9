"""`specc verify`: three implementations agree on a spec using most ops; a broken lowering fails."""
import numpy as np
import pytest

pytest.importorskip("torch")

from specc.cli import main  # noqa: E402

SPEC = """
model t {
    input x [1, 8, 8]
    conv2d(3, 4, pad=same)
    batchnorm
    prelu
    l2pool(2)
    flatten
    dense(12)
    residual { dense(12); elu }
    maxout(6, pieces=2)
    scaled_tanh
    dense(3)
    softmax
}
train { loss = cross_entropy; optimizer = sgd(lr=0.1) }
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "t.nn"
    path.write_text(SPEC)
    return path


def test_verify_passes_and_prints_every_layer_and_gradient(spec, capsys):
    assert main(["verify", str(spec)]) == 0
    out = capsys.readouterr().out
    for name in ("conv2d_1", "batchnorm_1", "l2pool_1", "residual_1", "elu_1", "maxout_1", "softmax_1",
                 "prelu_1.weight", "maxout_1.bias"):
        assert name in out
    assert "OK: numpy, torch" in out


def test_verify_fails_with_exit_1_when_a_lowering_is_wrong(spec, capsys, monkeypatch):
    from specc.backends.torch import ops

    wrong = ops.OP_TABLE["scaled_tanh"]
    monkeypatch.setitem(ops.OP_TABLE, "scaled_tanh", lambda L: ops.Fn("bad", lambda x: 1.7 * __import__("torch").tanh(x)))
    assert wrong is not ops.OP_TABLE["scaled_tanh"]
    assert main(["verify", str(spec), "--no-onnx"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "scaled_tanh_1 (torch)" in out and "onnxruntime skipped" in out


def test_verify_with_weights_and_bad_weights(spec, tmp_path, capsys):
    from specc.frontend import compile_file
    from specc.init import initial_params

    params = {k: v * 2 for k, v in initial_params(compile_file(str(spec))).items()}
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / "weights.npz", **params)
    assert main(["verify", str(spec), "--weights", str(run), "--no-onnx"]) == 0
    del params["dense_1.weight"]
    np.savez(tmp_path / "bad.npz", **params)
    assert main(["verify", str(spec), "--weights", str(tmp_path / "bad.npz")]) == 2
    assert "dense_1.weight" in capsys.readouterr().err


def test_verify_without_a_train_block_uses_mse(tmp_path, capsys):
    path = tmp_path / "m.nn"
    path.write_text("model m {\n    input x [3]\n    dense(2)\n    sigmoid(steepness=2)\n}\n")
    assert main(["verify", str(path)]) == 0
    assert "(mse," in capsys.readouterr().out
