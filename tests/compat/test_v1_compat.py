"""Every v1 spec (examples/ and the front-end corpus) compiles to the same parameter names and
shapes, the same initial weights, and trains (NumPy, a few steps) to the same weights as v1 did.

v1_golden.json was written by fingerprint.py running on the last v1 commit (af21dbc).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fingerprint import ROOT, fingerprint  # noqa: E402

GOLDEN = json.loads((Path(__file__).parent / "v1_golden.json").read_text())


def test_golden_covers_the_specs():
    assert len(GOLDEN) >= 35


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_v1_spec_is_unchanged(name):
    now = fingerprint(ROOT / name)
    want = GOLDEN[name]
    assert now["params"] == want["params"]
    assert now["init"] == want["init"]
    assert now.get("trained") == want.get("trained")
