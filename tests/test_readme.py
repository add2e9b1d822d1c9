"""The README's two set-up commands stay true: CI runs the same test command; the main job's spec checks."""
from __future__ import annotations

import pathlib
import re

from specc.cli import main
from specc.frontend import compile_text

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _commands():
    block = README.split("## Set up and run", 1)[1]
    return re.findall(r"^pip install .*$", block, flags=re.M)


def test_readme_has_a_main_job_and_a_test_command():
    main_job, tests = _commands()[:2]
    assert "specc train examples/" in main_job
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command():
    tests = _commands()[1]
    assert tests in (ROOT / ".ci" / "run").read_text()


def test_main_job_spec_checks(capsys):
    spec = re.search(r"specc train (examples/\S+\.nn)", _commands()[0]).group(1)
    assert main(["check", str(ROOT / spec)]) == 0


def test_ten_line_example_compiles():
    text = README.split("```", 2)[1]
    program = compile_text(text)
    assert program.model.output_shape == (10,)
