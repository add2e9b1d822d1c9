"""Test programs for the exporter tests, compiled from spec text (tests/specbuild.py).

`program((1, 8, 8), [("conv2d", dict(filters=3, kernel=3)), ("relu", {}), ...])`
"""
from __future__ import annotations

import os
import sys


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from specbuild import program, random_params  # noqa: E402,F401

