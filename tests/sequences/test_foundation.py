"""The sequence foundation: token inputs, [T, D] shapes, padding masks, per-position targets."""
from __future__ import annotations

import numpy as np
import pytest

from specc import masks
from specc.errors import SpecError, SpecErrors
from specc.frontend import check_program, compile_text

LM = """model lm {{
    input text [{t}] int
    embedding({v}, 8, pad=0)
    dense(8); tanh
    dense({v})
    softmax
}}
data {{ source = npz("{path}") }}
train {{
    loss = cross_entropy
    optimizer = adam(lr=0.01)
    batch = 8
    epochs = 2
    metrics = [accuracy, perplexity]
}}
"""


def tokens(n=24, t=6, v=10, seed=0):
    """Token ids in [1, v) with right padding (id 0): example i keeps t - i % t tokens."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, v, (n, t))
    for i in range(n):
        x[i, t - i % t:] = 0
    return x


def test_token_input_compiles_and_round_trips():
    prog = compile_text(LM.format(t=6, v=10, path="x.npz"))
    assert prog.model.inputs[0].dtype == "int" and prog.model.inputs[0].shape == (6,)
    assert prog.model.output_shape == (6, 10)
    assert check_program(prog).model == prog.model


def test_dense_acts_on_the_last_axis_of_a_sequence():
    prog = compile_text("model m {\n    input x [5, 3]\n    dense(4)\n    softmax\n}\n")
    dense = prog.model.layers[0]
    assert dense.out_shape == (5, 4) and dense.param("weight").shape == (4, 3)


def test_masks_follow_the_time_axis():
    prog = compile_text("""model m {
    input a [6] int
    input b [6] int
    embedding(10, 4, pad=0, name="ea")
    dense(4, name="da")
    from b
    embedding(10, 4, name="eb")
    add(da, eb)
    flatten
    dense(2)
}
""")
    src = masks.value_sources(prog.model)
    assert src["ea"] == ("ea",) and src["da"] == ("ea",)
    assert src["eb"] == ()                        # no pad: no mask
    assert src["add_1"] == ("ea",)                # a merge carries its inputs' masks
    assert src["flatten_1"] == () and src["dense_1"] == ()   # the time axis ends at flatten
    layer = masks.layer_sources(prog.model)
    assert layer["flatten_1"] == ("ea",) and layer["dense_1"] == ()


def test_numpy_mask_is_tokens_not_pad():
    prog = compile_text("model m {\n    input t [4] int\n    embedding(9, 2, pad=3)\n    dense(1)\n}\n")
    x = np.array([[1, 2, 3, 3], [3, 1, 1, 1]])
    mask = masks.numpy_mask(prog.model, {"t": x}, ("embedding_1",))
    np.testing.assert_array_equal(mask, x != 3)


def test_per_position_loss_is_the_mean_over_non_padding_positions():
    from specc.backends.numpy import losses

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 4, 5))
    t = rng.integers(0, 5, (3, 4))
    t[0, 2:] = -1
    t[2, 1:] = -1
    loss, grad = losses.compute("cross_entropy", {}, logits, t, fused=True)
    keep = t >= 0
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    want = -np.mean(np.take_along_axis(logp, np.where(keep, t, 0)[..., None], -1)[..., 0][keep])
    assert loss == pytest.approx(want, rel=1e-12)
    assert np.all(grad[~keep] == 0) and np.abs(grad[keep]).sum() > 0


@pytest.mark.parametrize("args", [{}, {"label_smoothing": 0.1}, {"weights": [1.0, 2.0, 0.5, 1.0, 3.0]}])
def test_per_position_loss_is_the_same_on_torch(args):
    torch = pytest.importorskip("torch")
    from specc.backends.numpy import losses as np_losses
    from specc.backends.torch.losses import _cross_entropy, _position_loss

    rng = np.random.default_rng(1)
    logits = rng.standard_normal((3, 4, 5))
    t = rng.integers(0, 5, (3, 4))
    t[1, 3:] = -1
    want, grad = np_losses.compute("cross_entropy", args, logits, t, fused=True)
    h = torch.from_numpy(logits).requires_grad_(True)
    got = _position_loss(_cross_entropy, h, h, torch.from_numpy(t), args, None, True)
    got.backward()
    assert float(got) == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(h.grad.numpy(), grad, rtol=1e-10, atol=1e-12)


def test_metrics_count_non_padding_positions():
    from specc.metrics import compute_metrics
    from specc.ir import Spec

    out = np.full((2, 3, 4), 0.1)
    out[..., 0] = 0.7                      # predicts class 0 everywhere
    y = np.array([[0, 1, -1], [0, -1, -1]])
    m = compute_metrics([Spec("accuracy"), Spec("perplexity")], out, y)
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert m["perplexity"] == pytest.approx(np.exp(-(2 * np.log(0.7) + np.log(0.1)) / 3))


def test_npz_tokens_load_as_int64_with_padding_targets_marked(tmp_path):
    from specc.data import load_data

    x = tokens()
    y = np.roll(x, -1, axis=1)
    np.savez(tmp_path / "lm.npz", x=x, y=y)
    prog = compile_text(LM.format(t=6, v=10, path="lm.npz"), str(tmp_path / "lm.nn"))
    data = load_data(prog)
    assert data.train.x.dtype == np.int64
    both = np.concatenate([s.x for s in (data.train, data.val, data.test) if s is not None])
    ys = np.concatenate([s.y for s in (data.train, data.val, data.test) if s is not None])
    assert ys.dtype == np.int64 and ys.shape == both.shape
    np.testing.assert_array_equal(ys == -1, both == 0)


def test_token_outside_the_vocabulary_is_a_data_error(tmp_path):
    from specc.data import load_data

    x = tokens()
    x[5, 0] = 10
    np.savez(tmp_path / "lm.npz", x=x, y=x)
    prog = compile_text(LM.format(t=6, v=10, path="lm.npz"), str(tmp_path / "lm.nn"))
    with pytest.raises((SpecError, SpecErrors), match="token id 10 .* outside the vocabulary"):
        load_data(prog)


def test_token_inputs_are_not_standardized(tmp_path):
    from specc.data import load_data

    np.savez(tmp_path / "lm.npz", x=tokens(), y=tokens())
    text = LM.format(t=6, v=10, path="lm.npz").replace('source = npz("lm.npz")',
                                                        'source = npz("lm.npz")\n    standardize = true')
    with pytest.raises((SpecError, SpecErrors), match="token ids, which are not scaled"):
        load_data(compile_text(text, str(tmp_path / "lm.nn")))


def test_a_tiny_language_model_trains_the_same_on_numpy_and_torch(tmp_path):
    pytest.importorskip("torch")
    from specc.driver import Trainer

    x = tokens(n=40)
    np.savez(tmp_path / "lm.npz", x=x, y=np.roll(x, -1, axis=1))
    prog = compile_text(LM.format(t=6, v=10, path="lm.npz"), str(tmp_path / "lm.nn"))
    curves = {}
    for backend in ("numpy", "torch"):
        result = Trainer(prog, backend=backend, out=str(tmp_path / backend), quiet=True,
                         options={"device": "cpu"} if backend == "torch" else {}).run()
        curves[backend] = [(r["train_loss"], r["val_loss"], r["val_accuracy"], r["val_perplexity"])
                           for r in result.history]
    np.testing.assert_allclose(curves["torch"], curves["numpy"], rtol=1e-4)
    assert curves["numpy"][-1][3] == pytest.approx(np.exp(curves["numpy"][-1][1]), rel=1e-4)


def test_summary_and_graph_show_token_inputs_and_sequence_shapes(tmp_path, capsys):
    from specc.cli import main
    from specc.graph import to_dot

    path = tmp_path / "lm.nn"
    path.write_text(LM.format(t=6, v=10, path="lm.npz"))
    assert main(["summary", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[6] int" in out and "[6, 10]" in out
    dot = to_dot(compile_text(path.read_text()))
    assert "input [6] int" in dot and "embedding(vocab=10, dim=8, pad=0)" in dot


def test_exported_token_model_predicts_a_class_per_position(tmp_path, capsys):
    """The ONNX input is int64 token ids: predict converts whole-number files and names a class per position."""
    from specc.backends.onnx.export import build_model, save
    from specc.cli import main
    from specc.init import initial_params

    prog = compile_text(LM.format(t=6, v=10, path="lm.npz"))
    save(build_model(prog, initial_params(prog)), str(tmp_path / "lm.onnx"))
    np.save(tmp_path / "x.npy", tokens(n=3).astype(np.float32))
    assert main(["predict", str(tmp_path / "lm.onnx"), str(tmp_path / "x.npy")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(f"class_{t}" for t in range(6)) and len(lines) == 4


@pytest.mark.parametrize("backend_name", ["numpy", "torch"])
def test_split_loss_is_the_mean_over_its_positions_whatever_the_batch_size(backend_name):
    """Batches hold different numbers of real positions: they are weighted by them, not by examples."""
    if backend_name == "torch":
        pytest.importorskip("torch")
    from specc.data.targets import mark_padding
    from specc.backend_lookup import backend_class
    from specc.init import initial_params

    prog = compile_text(LM.format(t=6, v=10, path="lm.npz"))
    x = tokens(n=12)
    y = mark_padding(prog, [x], np.roll(x, -1, axis=1))
    options = {"device": "cpu"} if backend_name == "torch" else {}
    backend = backend_class(backend_name)(prog, initial_params(prog), seed=0, **options)
    backend.put_data("val", [x], [y])
    whole, _ = backend.evaluate("val", 100)
    batched, _ = backend.evaluate("val", 5)
    assert batched == pytest.approx(whole, rel=1e-6)


def test_a_sequence_classifier_trains_on_int_npz_with_one_label_per_sequence(tmp_path):
    """Targets [N] for a padded token input: pooled over the real positions, the same on both backends."""
    pytest.importorskip("torch")
    from specc.driver import Trainer

    x = tokens(n=40)
    y = (x[:, 0] > 5).astype(np.int64)
    np.savez(tmp_path / "cls.npz", x=x, y=y)
    text = LM.format(t=6, v=10, path="cls.npz").replace("dense(10)\n    softmax", "global_avgpool\n    dense(2)\n    softmax")
    text = text.replace("metrics = [accuracy, perplexity]", "metrics = [accuracy]")
    prog = compile_text(text, str(tmp_path / "cls.nn"))
    assert prog.model.output_shape == (2,)
    curves = {}
    for backend in ("numpy", "torch"):
        result = Trainer(prog, backend=backend, out=str(tmp_path / backend), quiet=True,
                         options={"device": "cpu"} if backend == "torch" else {}).run()
        curves[backend] = [(r["train_loss"], r["val_loss"], r["val_accuracy"]) for r in result.history]
    np.testing.assert_allclose(curves["torch"], curves["numpy"], rtol=1e-4)
