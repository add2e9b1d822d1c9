"""The wheel ships one `specc` namespace with the grammar inside, and pyproject lists every package."""
from __future__ import annotations

import pathlib
import subprocess
import sys
import tomllib
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAPPING = {"specc": "specc", "specc.backends": "backends", "specc.grammar": "grammar"}


def _declared():
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def _on_disk():
    found = set()
    for prefix, folder in MAPPING.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            found.add(".".join([prefix, *rel.parts]) if rel.parts else prefix)
    return found


def test_every_package_directory_is_listed_in_pyproject():
    assert _on_disk() == _declared()


@pytest.mark.slow
def test_wheel_contains_grammar_and_backends(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                          str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("specc-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "specc/grammar/specc.lark" in names
    assert "specc/backends/numpy/__init__.py" in names
    assert "specc/parser.py" in names
    assert not any(n.startswith(("backends/", "grammar/", "tests/")) for n in names)
