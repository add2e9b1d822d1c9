"""standardize = per_channel and normalize(mean, std): statistics per image channel, in the ONNX graph too."""
import numpy as np
import pytest

from specc.data import load_data
from specc.data.preprocess import channel_shape, mean_std_per_channel
from specc.errors import SpecError, SpecErrors
from specc.frontend import compile_text
from specc.ir import DataSpec, InputPrep, Source, Spec


def images_npz(tmp_path, n=40, shape=(3, 4, 5)):
    rng = np.random.default_rng(0)
    x = rng.normal([10.0, -3.0, 0.5][:shape[0]], [2.0, 0.5, 4.0][:shape[0]], (n, *shape[1:], shape[0]))
    x = np.moveaxis(x, -1, 1).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=rng.integers(0, 2, n))
    return x


def test_channel_shape():
    assert channel_shape((3, 28, 28)) == (3, 1, 1)
    assert channel_shape((28, 28)) == (1, 1)
    assert channel_shape((7,)) == (7,)


def test_per_channel_statistics_match_numpy():
    x = np.random.default_rng(1).normal(5, 3, (50, 3, 4, 4)).astype(np.float32)
    mean, std = mean_std_per_channel(x)
    assert mean.shape == std.shape == (3, 1, 1)
    np.testing.assert_allclose(mean.reshape(-1), x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(std.reshape(-1), x.std(axis=(0, 2, 3)), rtol=1e-5)


def test_per_channel_standardizes_each_channel_of_the_training_split(tmp_path, program):
    images_npz(tmp_path)
    spec = DataSpec(source=Source("npz", {"path": "d.npz"}), split=(1.0, 0.0, 0.0),
                    prep=(InputPrep("x", standardize="per_channel"),))
    ds = load_data(program(spec, input_shape=(3, 4, 5), path=str(tmp_path / "s.nn")))
    assert ds.preprocess.mean.shape == (3, 1, 1)
    np.testing.assert_allclose(ds.train.x.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(ds.train.x.std(axis=(0, 2, 3)), 1, atol=1e-4)


def test_normalize_uses_the_given_statistics_after_scale(tmp_path, program):
    x = images_npz(tmp_path)
    spec = DataSpec(source=Source("npz", {"path": "d.npz"}), split=(1.0, 0.0, 0.0),
                    prep=(InputPrep("x", scale=0.5, standardize=Spec("normalize", {"mean": (1.0, 2.0, 3.0),
                                                                                   "std": (2.0, 4.0, 8.0)})),))
    ds = load_data(program(spec, input_shape=(3, 4, 5), path=str(tmp_path / "s.nn")))
    want = (x * 0.5 - np.array([1, 2, 3], np.float32)[:, None, None]) / np.array([2, 4, 8], np.float32)[:, None, None]
    np.testing.assert_allclose(ds.train.x, want, rtol=1e-6)


def test_normalize_needs_one_value_per_channel(tmp_path, program):
    images_npz(tmp_path)
    spec = DataSpec(source=Source("npz", {"path": "d.npz"}), split=(1.0, 0.0, 0.0),
                    prep=(InputPrep("x", standardize=Spec("normalize", {"mean": (1.0, 2.0), "std": (2.0, 4.0)})),))
    with pytest.raises(SpecError, match="mean has 2 values; the input \\[3, 4, 5\\] has 3 channels"):
        load_data(program(spec, input_shape=(3, 4, 5), path=str(tmp_path / "s.nn")))


MODEL = "model m { input [3, 4, 5]\n flatten; dense(2); softmax }\n"


@pytest.mark.parametrize("value, pattern", [
    ("normalize(mean=[1, 2], std=[1])", "one value per channel, got 2 and 1"),
    ("normalize(mean=[1], std=[0])", "every `std` must be above 0"),
    ("normalise(mean=[1], std=[1])", "did you mean `normalize`"),
    ("per_chanel", "did you mean `per_channel`"),
    ("normalize(mean=[1])", "needs `std`"),
])
def test_standardize_values_are_checked_statically(value, pattern):
    with pytest.raises((SpecError, SpecErrors)) as e:
        compile_text(MODEL + f'data {{ source = npz("d.npz"); standardize = {value} }}\n')
    assert pattern.replace("\\", "") in e.value.render() or __import__("re").search(pattern, e.value.render())


def test_standardize_modes_print_and_parse_back():
    from specc.printer import format_program
    for value in ("per_channel", "normalize(mean=[0.5, 0.4, 0.3], std=[0.2, 0.2, 0.25])", "true"):
        prog = compile_text(MODEL + f'data {{ source = npz("d.npz"); standardize = {value} }}\n')
        again = compile_text(format_program(prog))
        assert again.data.prep == prog.data.prep and prog.data.prep[0].standardize


def test_per_channel_statistics_are_baked_into_the_onnx_graph(tmp_path, program):
    from specc.backends.numpy.model import Network
    from specc.backends.onnx import runtime
    from specc.backends.onnx.export import build_model
    from specc.init import initial_params
    from specc.frontend import compile_file
    x = images_npz(tmp_path)
    (tmp_path / "s.nn").write_text(MODEL + 'data { source = npz("d.npz"); split = [1, 0, 0]; standardize = per_channel }\n'
                                   "train { loss = cross_entropy; optimizer = sgd(lr=0.1) }\n")
    prog = compile_file(str(tmp_path / "s.nn"))
    ds = load_data(prog)
    assert ds.preprocess.mean.shape == (3, 1, 1)
    params = initial_params(prog)
    sess = runtime.session(build_model(prog, params, preprocess=ds.preprocess))
    got = sess.run(None, {"input": x[:7]})[0]
    want = Network(prog.model, params).outputs(ds.preprocess.apply(x[:7]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
