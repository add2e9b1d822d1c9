import numpy as np
import pytest

from specc.data import Preprocess, load_data
from specc.data.preprocess import mean_std
from specc.ir import DataSpec, InputPrep, Source


def test_mean_std_matches_numpy_float64():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((20000, 3)) * [1, 10, 0.1] + [5, -3, 1e4]).astype(np.float32)
    m, s = mean_std(x)
    # float64 accumulation: agreement to float32 rounding of the results
    np.testing.assert_allclose(m, x.astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(s, x.astype(np.float64).std(0), rtol=1e-5)


def test_constant_features_get_std_one():
    x = np.array([[1.0, 0.1, 0.0], [2.0, 0.1, 0.0], [3.0, 0.1, 0.0]], np.float32)
    _, s = mean_std(x)
    assert s[1] == 1.0 and s[2] == 1.0 and s[0] != 1.0


def test_round_trip_without_pickles(tmp_path):
    p = Preprocess(1 / 255, np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0], np.float32))
    np.savez(tmp_path / "p.npz", **p.to_arrays())
    with np.load(tmp_path / "p.npz", allow_pickle=False) as f:
        q = Preprocess.from_arrays(dict(f))
    assert q.scale == pytest.approx(1 / 255, rel=1e-15)
    np.testing.assert_array_equal(q.mean, p.mean)
    x = np.array([[255.0, 510.0]])
    np.testing.assert_allclose(q.apply(x), [[(1 - 1) / 3, (2 - 2) / 4]], atol=1e-6)
    assert Preprocess.from_arrays({}).identity


def test_order_scale_then_standardize_train_stats_only(program):
    spec = DataSpec(source=Source("blobs", {"n": 300, "centers": 2}), split=(0.5, 0.25, 0.25),
                    prep=(InputPrep("x", scale=0.5, standardize=True),))
    ds = load_data(program(spec))
    pre = ds.preprocess
    assert pre.scale == 0.5
    # statistics come from the training split only: train is exactly standardized
    np.testing.assert_allclose(ds.train.x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.train.x.std(0), 1, atol=1e-4)
    # and the test split used the same numbers: undo them to get back the raw points
    raw = load_data(program(DataSpec(source=Source("blobs", {"n": 300, "centers": 2}), split=(0.5, 0.25, 0.25))))
    np.testing.assert_allclose((raw.test.x * 0.5 - pre.mean) / pre.std, ds.test.x, rtol=1e-5, atol=1e-5)
    assert not np.allclose(ds.test.x.mean(0), 0, atol=1e-3)


def test_no_preprocessing_is_identity(program):
    ds = load_data(program(DataSpec(source=Source("xor", {})), loss="bce", output_shape=(1,), out_op="sigmoid"))
    assert ds.preprocess.identity and ds.preprocess.to_arrays() == {}


def test_saved_per_channel_statistics_fit_an_image_input():
    """`standardize = per_channel` saves mean/std of shape [C, 1, 1]; eval and export refused them as
    "saved by a run of another spec" because only the input's own shape was accepted."""
    from specc.data.preprocess import check_saved
    from specc.errors import DataError

    ok = {"mean": np.zeros((3, 1, 1), np.float32), "std": np.ones((3, 1, 1), np.float32)}
    check_saved(ok, (3, 8, 8), "preprocess.npz")
    check_saved({"mean": np.zeros((3, 8, 8), np.float32)}, (3, 8, 8), "preprocess.npz")
    with pytest.raises(DataError, match=r"has shape \[2, 1, 1\]"):
        check_saved({"mean": np.zeros((2, 1, 1), np.float32)}, (3, 8, 8), "preprocess.npz")


@pytest.mark.parametrize("shape, stat_shape", [
    ((1000, 784), (784,)),              # MNIST rows: several samples per NumPy inner loop
    ((333, 3, 32, 32), (3, 1, 1)),      # per-channel statistics; 333 leaves a remainder of samples
    ((50, 3, 8, 8), (3, 8, 8)),
    ((7, 10), (10,)),
    ((20, 2, 3), (3,)),                 # statistics broadcast over a middle axis too
    ((0, 5), (5,)),
])
def test_apply_gives_the_bits_of_plain_broadcasting(shape, stat_shape):
    """apply_ runs mean/std repeated over several samples (long inner loops): the same element-wise
    IEEE operations as `x -= mean; x /= std`, so the same bits, whatever the shape or remainder."""
    rng = np.random.default_rng(0)
    x = rng.random(shape, dtype=np.float32) * 255
    mean = rng.random(stat_shape, dtype=np.float32)
    std = rng.random(stat_shape, dtype=np.float32) + 0.1
    expected = x.copy()
    expected *= np.float32(1 / 255)
    expected -= mean
    expected /= std
    got = Preprocess(1 / 255, mean, std).apply(x)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))
    strided = np.asfortranarray(x[::2])  # not C-contiguous: broadcast as it is, the same numbers
    if strided.size:
        ref = Preprocess(1 / 255, mean, std).apply(x[::2])
        np.testing.assert_array_equal(Preprocess(1 / 255, mean, std).apply_(strided), ref)
