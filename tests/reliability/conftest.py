"""Fixtures for the fault-injection tests: the signal spec, its uninterrupted reference run, a tiny spec.

Makes faultlib (the fault-injection helpers shared with bench/faults.py) importable.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import faultlib  # noqa: E402

TINY = faultlib.TINY  # a spec that trains in a few hundredths of a second (defined in faultlib)


@pytest.fixture(scope="session")
def sig_spec(tmp_path_factory):
    return faultlib.write_spec(tmp_path_factory.mktemp("spec"))


@pytest.fixture(scope="session")
def reference(sig_spec, tmp_path_factory):
    """Weights of the uninterrupted run of sig_spec (one subprocess run per test session)."""
    return faultlib.reference_weights(sig_spec, tmp_path_factory.mktemp("reference") / "run")




@pytest.fixture
def tiny_spec(tmp_path):
    return faultlib.write_spec(tmp_path, TINY, "tiny.nn")


@pytest.fixture
def tiny_run(cli, tiny_spec, tmp_path):
    """A finished run directory of the tiny spec."""
    out = tmp_path / "run"
    code, _, err = cli("train", tiny_spec, "--out", out, "--quiet")
    assert code == 0, err
    return out
