"""l2, global-norm clipping and decoupled decay on dicts of arrays; clipping against torch.

Tolerance vs torch: rtol 1e-12 (float64 on both sides; we accumulate the squared
norm in one float64 sum, torch takes a norm of per-tensor norms: a few ulp apart).
"""
import numpy as np
import pytest

from specc.regularize import add_l2, clip_global_norm, decoupled_decay, global_norm

torch = pytest.importorskip("torch")


def grads(scale, seed=0):
    rng = np.random.default_rng(seed)
    return {"a.weight": rng.normal(size=(5, 3)) * scale, "a.bias": rng.normal(size=5) * scale,
            "b.weight": rng.normal(size=(2, 2, 3, 3)) * scale}


@pytest.mark.parametrize("scale, max_norm", [(1.0, 1.0), (1.0, 100.0), (1e-3, 0.5), (50.0, 2.0)])
def test_clip_matches_torch(scale, max_norm):
    g = grads(scale)
    tensors = [torch.tensor(v, requires_grad=True) for v in g.values()]
    for t, v in zip(tensors, g.values()):
        t.grad = torch.tensor(v)
    tnorm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    norm = clip_global_norm(g, max_norm)
    assert norm == pytest.approx(float(tnorm), rel=1e-12)
    for t, v in zip(tensors, g.values()):
        np.testing.assert_allclose(v, t.grad.numpy(), rtol=1e-12, atol=0)


def test_clip_only_shrinks_and_measures_with_none():
    g = grads(10.0)
    before = {k: v.copy() for k, v in g.items()}
    n = clip_global_norm(g, None)
    assert n == pytest.approx(np.sqrt(sum((v ** 2).sum() for v in before.values())))
    assert all(np.array_equal(g[k], before[k]) for k in g)
    clip_global_norm(g, 1.0)
    assert global_norm(g.values()) == pytest.approx(1.0, rel=1e-5)  # 1e-6 guard: max_norm / (norm + 1e-6)


def test_norm_of_huge_float32_gradients_does_not_overflow():
    g = {"w": np.full(4, 3e20, np.float32)}  # squares overflow float32
    assert clip_global_norm(g, 1.0) == pytest.approx(6e20, rel=1e-6)
    assert g["w"].dtype == np.float32 and np.allclose(g["w"], 0.5, rtol=1e-5)


def test_nonfinite_norm_leaves_gradients_alone():
    g = {"w": np.array([1.0, np.inf])}
    assert clip_global_norm(g, 1.0) == np.inf
    assert g["w"][0] == 1.0


def test_l2_and_decay_touch_only_decaying_keys():
    params = {"w": np.array([1.0, -2.0]), "b": np.array([3.0])}
    g = {"w": np.array([0.5, 0.5]), "b": np.array([0.5])}
    add_l2(g, params, 0.1, ["w"])
    np.testing.assert_allclose(g["w"], [0.6, 0.3])
    assert g["b"][0] == 0.5
    decoupled_decay(params, 0.25, ["w"])
    np.testing.assert_allclose(params["w"], [0.75, -1.5])
    assert params["b"][0] == 3.0
    add_l2(g, params, 0.0, ["w"])
    decoupled_decay(params, 0.0, ["w"])
    np.testing.assert_allclose(params["w"], [0.75, -1.5])
