"""`scale` / `standardize` per model input: a plain value for the one float input, a map for several."""
import numpy as np
import pytest

import specc
from specc.checkpoint import load_npz
from specc.errors import DataError, SpecErrors
from specc.frontend import compile_text
from specc.printer import format_program

TWO = """
model m {
    input image [2, 3, 3]
    input meta [4]
    flatten(name="img")
    from meta
    dense(3, name="tab")
    concat(img, tab)
    dense(2)
    softmax
}
"""
TOKENS_AND_NUMBERS = """
model m {
    input text [5] int
    input meta [4]
    embedding(10, 3)
    global_avgpool(name="t")
    from meta
    dense(3, name="n")
    concat(t, n)
    dense(2)
    softmax
}
"""


def data_block(lines: str, source: str = 'npz("d.npz", x=["image", "meta"], y="y")') -> str:
    return f"data {{\n    source = {source}\n    {lines}\n}}\n"


def error_of(text: str) -> str:
    with pytest.raises(SpecErrors) as e:
        compile_text(text)
    return str(e.value)


def test_a_plain_value_with_two_float_inputs_asks_which():
    message = error_of(TWO + data_block("scale = 0.5"))
    assert "the model has 2 inputs (image, meta); say which one `scale` is for" in message
    assert "scale = {image: ...}" in message


def test_a_plain_value_goes_to_the_one_float_input_beside_tokens():
    program = compile_text(TOKENS_AND_NUMBERS + data_block("standardize = true", 'npz("d.npz", x=["t", "m"], y="y")'))
    assert [(p.input, p.standardize) for p in program.data.prep] == [("meta", True)]


def test_a_map_names_each_input():
    program = compile_text(TWO + data_block("scale = {image: 0.0625}\n    standardize = {meta: true, image: per_channel}"))
    assert [(p.input, p.scale, p.standardize) for p in program.data.prep] == [
        ("image", 0.0625, "per_channel"), ("meta", None, True)]  # in input order
    assert compile_text(format_program(program)) == program


def test_a_map_naming_an_unknown_input_suggests_one():
    message = error_of(TWO + data_block("scale = {imag: 0.5}"))
    assert "`scale` names input `imag`, which the model does not have" in message and "image" in message


def test_token_inputs_are_never_scaled():
    message = error_of(TOKENS_AND_NUMBERS + data_block("scale = {text: 0.5}", 'npz("d.npz", x=["t", "m"], y="y")'))
    assert "input `text` holds token ids, which are not scaled or standardized" in message


def _write(tmp_path, n=120):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 17, (n, 2, 3, 3)).astype(np.float32)
    meta = (rng.standard_normal((n, 4)) * [1, 10, 100, 1000] + [5, -50, 500, 0]).astype(np.float32)
    y = (meta[:, 0] > 5).astype(np.int64)
    np.savez(tmp_path / "d.npz", image=image, meta=meta, y=y)
    spec = tmp_path / "m.nn"
    spec.write_text(TWO + data_block("split = [0.5, 0.25, 0.25]\n    scale = {image: 0.0625}\n"
                                     "    standardize = {meta: true}")
                    + "train { loss = cross_entropy; optimizer = adam(lr=0.01); batch = 16; epochs = 2; seed = 3 }\n")
    return spec, image, meta


def test_each_input_is_prepared_with_its_own_training_statistics(tmp_path):
    from specc.data import load_data

    spec, image, meta = _write(tmp_path)
    data = load_data(specc.compile(str(spec)).program)
    image_pre, meta_pre = data.input_preprocess
    assert image_pre.scale == 0.0625 and image_pre.mean is None
    assert meta_pre.scale is None
    np.testing.assert_allclose(data.train.more_x[0].mean(0), 0, atol=1e-5)  # standardized on the training split
    np.testing.assert_allclose(data.train.more_x[0].std(0), 1, atol=1e-4)
    assert data.train.x.max() <= 1.0 and data.train.x.min() >= 0.0        # 0..16 scaled to 0..1
    assert abs(float(data.val.more_x[0][:, 2].mean())) < 1.0                # val uses train's statistics


def test_a_run_saves_predicts_evaluates_and_exports_with_every_inputs_preprocessing(tmp_path):
    from specc.backends.onnx import runtime
    from specc.backends.onnx.export import build_model
    from specc.backends.onnx.rundir import load_preprocess

    spec, image, meta = _write(tmp_path)
    model = specc.compile(str(spec)).train(out=tmp_path / "run", quiet=True)
    saved = load_npz(tmp_path / "run" / "preprocess.npz")
    assert sorted(saved) == ["meta.mean", "meta.std", "scale"]  # the first input's keys as for one input

    # predict on raw arrays applies both inputs' preprocessing, as the backend saw them in training
    from specc.backends.numpy.backend import NumpyBackend
    raw = [image[:9], meta[:9]]
    want = NumpyBackend(model.program, model.params, seed=0).predict(
        [raw[0] * np.float32(0.0625), (raw[1] - saved["meta.mean"]) / saved["meta.std"]], 64)
    np.testing.assert_allclose(model.predict(raw), want, rtol=1e-6, atol=1e-7)

    # the ONNX graph takes raw inputs too: both preprocessings are inside it
    onnx_model = build_model(model.program, model.params, preprocess=load_preprocess(str(tmp_path / "run"),
                                                                                      model.program))
    got = runtime.session(onnx_model).run(None, {"image": raw[0], "meta": raw[1]})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    row = model.evaluate(split="test")  # the saved statistics, whatever load_data recomputes
    assert set(row) == {"loss"} and np.isfinite(row["loss"])


def test_a_broken_saved_statistic_names_its_input(tmp_path):
    spec, _, _ = _write(tmp_path)
    specc.compile(str(spec)).train(out=tmp_path / "run", quiet=True)
    path = tmp_path / "run" / "preprocess.npz"
    arrays = load_npz(path)
    arrays["meta.std"] = np.zeros(3, np.float32)
    np.savez(path, **arrays)
    with pytest.raises(DataError, match="`meta.std` has shape \\[3\\], but the model's input is \\[4\\]"):
        specc.load(tmp_path / "run")
