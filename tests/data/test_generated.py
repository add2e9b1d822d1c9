import numpy as np
import pytest

from specbuild import data_error
from specc.data.generated import GENERATORS
from specc.data import load_data
from specc.ir import DataSpec, Source
from specc.rng import stream


def test_xor_default_is_the_truth_table():
    x, y = GENERATORS["xor"](stream(0, "data"))
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generated_shapes_dtypes_and_balance(name):
    x, y = GENERATORS[name](stream(3, "data"), n=101)
    assert x.shape == (101, 2) and x.dtype == np.float32 and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1  # classes as even as n allows
    assert np.isfinite(x).all()


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generated_is_seeded(name):
    a = GENERATORS[name](stream(5, "data"), n=50)
    b = GENERATORS[name](stream(5, "data"), n=50)
    c = GENERATORS[name](stream(6, "data"), n=50)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0]) or name == "xor"  # xor without noise has nothing random but order


def test_blobs_centers_and_dim():
    x, y = GENERATORS["blobs"](stream(0, "data"), n=60, centers=4, std=0.1, dim=3)
    assert x.shape == (60, 3) and set(y) == {0, 1, 2, 3}
    for c in range(4):  # tight blobs: every point is near its own class mean
        pts = x[y == c]
        assert np.abs(pts - pts.mean(0)).max() < 1.0


def test_circles_radii_without_noise():
    x, y = GENERATORS["circles"](stream(0, "data"), n=40, noise=0.0, factor=0.3)
    r = np.linalg.norm(x, axis=1)
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-6)   # float32 rounding of cos/sin
    np.testing.assert_allclose(r[y == 1], 0.3, rtol=1e-6)


def test_train_and_test_sources_draw_different_points(program):
    p = program(DataSpec(train=Source("moons", {"n": 20}), test=Source("moons", {"n": 20})))
    ds = load_data(p)
    assert not np.array_equal(ds.train.x, ds.test.x)


def test_bad_generator_arguments_are_front_end_errors():
    """Checked once, by the front end, against the SOURCES table (the loader trusts it)."""
    assert "spirals's `n` must be at least 1" in data_error("source = spirals(n=0)")
    assert "moons's `noise`" in data_error("source = moons(noise=-1.0)")
