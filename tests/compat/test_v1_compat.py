"""Every v1 spec (examples/ and the front-end corpus) compiles to the same parameter names and
shapes, the same initial weights, and trains (NumPy, a few steps) to the same weights as v1 did.

v1_golden.json and v1_trained.npz were written by fingerprint.py running on the last v1 commit
(af21dbc). Trained weights match within fingerprint.RTOL/ATOL, the float32 rounding of another
CPU's BLAS kernel; a digest of them would only hold on the CPU that wrote it.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fingerprint import ROOT, fingerprint, golden_trained, trained_mismatches  # noqa: E402

HERE = Path(__file__).parent
GOLDEN = json.loads((HERE / "v1_golden.json").read_text())
TRAINED = golden_trained(HERE / "v1_trained.npz")


def test_golden_covers_the_specs():
    assert len(GOLDEN) >= 35
    assert len(TRAINED) >= 10
    assert set(TRAINED) == {name for name, g in GOLDEN.items() if len(g.get("trained") or "") == 24}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_v1_spec_is_unchanged(name):
    now = fingerprint(ROOT / name)
    want = GOLDEN[name]
    assert now["params"] == want["params"]
    assert now["init"] == want["init"]
    if name in TRAINED:
        assert isinstance(now.get("trained"), dict), now.get("trained")
        assert trained_mismatches(now["trained"], TRAINED[name]) == []
    else:
        assert now.get("trained") == want.get("trained")


def test_the_trained_comparison_allows_rounding_but_not_a_change():
    rng = np.random.default_rng(0)
    golden = {"w": rng.normal(0, 0.1, (64, 32)).astype(np.float32), "b": np.zeros(32, np.float32)}
    # two float32 ulps off everywhere, more than another BLAS kernel gives: the same weights
    rounded = {k: np.nextafter(np.nextafter(v, np.inf), np.inf) for k, v in golden.items()}
    assert trained_mismatches(rounded, golden) == []
    # one weight moved by one update of lr * grad = 1e-4, wherever it sits: another run
    for index in [(0, 0), (17, 5), (63, 31)]:
        moved = {k: v.copy() for k, v in golden.items()}
        moved["w"][index] += 1e-4
        assert trained_mismatches(moved, golden) == ["w"]
    assert trained_mismatches({"w": golden["w"]}, golden) != []
