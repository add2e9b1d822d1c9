"""Fixtures of the text tests; makes lm_spec (the shared spec) importable under --import-mode=importlib."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lm_spec import write_spec  # noqa: E402




@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """(spec path, run directory) of the tiny model trained on the NumPy backend."""
    from specc.driver import Trainer
    from specc.frontend import compile_file

    folder = tmp_path_factory.mktemp("lm")
    path = write_spec(folder)
    Trainer(compile_file(str(path)), backend="numpy", out=folder / "run", quiet=True).run()
    return path, folder / "run"
