"""The NumPy backend's vectorized erf (backends/numpy/ops/_erf.py) against math.erf, and gelu built on it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from specc.backends.numpy.ops._erf import BLOCK, erf
from specc.backends.numpy.ops.gelu import gelu_and_slope

TINY = np.finfo(np.float64).tiny  # below it results are subnormal: fewer bits, so no relative bound


def reference(x: np.ndarray) -> np.ndarray:
    return np.array([math.erf(v) for v in x.ravel().tolist()]).reshape(x.shape)


def grid() -> np.ndarray:
    """Dense over every piece and its edges, both signs, plus tiny and huge magnitudes."""
    dense = np.linspace(0.0, 7.0, 350_001)
    edges = np.concatenate([np.nextafter(k, [-np.inf, np.inf]) for k in range(8)] + [np.arange(8.0)])
    magnitudes = np.concatenate([dense, edges, np.geomspace(1e-300, 7.0, 20_001), [1e10, 1e300, np.finfo(float).max]])
    return np.concatenate([magnitudes, -magnitudes])


def test_erf_is_within_1e15_relative_of_math_erf_on_a_dense_grid():
    x = grid()
    got, want = erf(x), reference(x)
    normal = np.abs(want) >= TINY
    rel = np.abs(got[normal] - want[normal]) / np.abs(want[normal])
    assert rel.max() < 1e-15, f"max relative error {rel.max():.3g} at x = {x[normal][rel.argmax()]!r}"
    assert np.all(np.abs(got[~normal] - want[~normal]) <= 2 * np.finfo(float).smallest_subnormal)


def test_erf_edge_cases():
    x = np.array([0.0, -0.0, 5e-324, -5e-324, 1e-310, np.inf, -np.inf, 6.0, -6.0, 1e300, -1e300])
    got = erf(x)
    np.testing.assert_array_equal(got, reference(x))
    assert not np.signbit(got[0]) and np.signbit(got[1])  # erf(-0) = -0, as math.erf
    assert np.isnan(erf(np.array([np.nan, -np.nan]))).all()


def test_erf_keeps_float32_and_rounds_once():
    x = np.random.default_rng(0).standard_normal(100_000).astype(np.float32) * 3
    got = erf(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, reference(x.astype(np.float64)).astype(np.float32))


def test_erf_of_any_shape_across_blocks_and_views():
    """Sizes past one block, non-contiguous views, 0-d arrays and ints (-> float64) all work."""
    x = np.random.default_rng(1).standard_normal((3, BLOCK + 7)) * 2
    np.testing.assert_allclose(erf(x), reference(x), rtol=1e-15, atol=0)
    view = x[:, ::3].T
    np.testing.assert_allclose(erf(view), reference(view), rtol=1e-15, atol=0)
    assert erf(np.float64(0.5)).shape == () and float(erf(np.float64(0.5))) == pytest.approx(math.erf(0.5), rel=1e-15)
    assert erf(np.array([1, 2])).dtype == np.float64


def test_gelu_value_and_slope_against_math_erf_and_finite_differences():
    x = np.concatenate([np.linspace(-12, 12, 4001), [0.0, -0.0, 1e-20, -1e-20]])
    y, slope = gelu_and_slope(x)
    phi = 0.5 * (1 + reference(x / math.sqrt(2)))
    # in the left tail 1 + erf cancels (Φ -> 0), in the reference too: an absolute bound there
    np.testing.assert_allclose(y, x * phi, rtol=1e-14, atol=1e-14)
    h = 1e-6
    numeric = (gelu_and_slope(x + h)[0] - gelu_and_slope(x - h)[0]) / (2 * h)
    np.testing.assert_allclose(slope, numeric, rtol=1e-7, atol=1e-8)


def test_gelu_in_float32_is_the_double_result_rounded_once():
    """Φ reads x / √2 rounded to float32 (as torch does); y and dy/dx are then exact to one rounding."""
    x = np.random.default_rng(2).standard_normal(50_000).astype(np.float32) * 4
    y32, s32 = gelu_and_slope(x)
    assert y32.dtype == s32.dtype == np.float32
    x64 = x.astype(np.float64)
    phi = 0.5 * (1 + reference((x * np.float32(1 / math.sqrt(2))).astype(np.float64)))
    pdf = np.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
    ulp = np.finfo(np.float32).eps
    np.testing.assert_allclose(y32, (x64 * phi).astype(np.float32), rtol=ulp, atol=0)
    np.testing.assert_allclose(s32, (phi + x64 * pdf).astype(np.float32), rtol=ulp, atol=1e-30)
