"""Golden diagnostics: every err/NAME.nn must fail `specc check` with exit code 2 and
the exact first diagnostic of err/NAME.expected (head line, and the hint line if any).

A new case is a new file pair. A known front-end bug is marked by err/NAME.xfail
holding the reason; the case then runs as a strict xfail (it fails loudly once fixed,
so the .xfail file gets deleted).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from specc.cli import main

ERR = Path(__file__).parent / "err"
CASES = sorted(p.stem for p in ERR.glob("*.nn"))
HEAD = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): error: ")
# A few run as real subprocesses too: the console script path must behave the same.
SUBPROCESS_CASES = ["typo_layer", "unclosed_brace", "invalid_utf8", "dense_on_image", "multiple_errors",
                    "unterminated_string_eol"]


def _param(name):
    xfail = ERR / f"{name}.xfail"
    if xfail.exists():
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=xfail.read_text().strip()))
    return name


def check_diagnostic(name: str, rc: int, stderr: str) -> None:
    expected = (ERR / f"{name}.expected").read_text(encoding="utf-8").splitlines()
    assert rc == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert lines, "no diagnostic printed"
    assert lines[0] == expected[0]
    # The first diagnostic's block runs up to the next head line.
    end = next((i for i in range(1, len(lines)) if HEAD.match(lines[i])), len(lines))
    block = lines[1:end]
    m = HEAD.match(lines[0])
    line_no, col = int(m["line"]), int(m["col"])
    # The offending source line is shown with a gutter, then a caret under the column.
    gutter = f"{line_no:>5} | "
    src = [i for i, l in enumerate(block) if l.startswith(gutter)]
    assert src, f"no source line shown in:\n{stderr}"
    caret = block[src[0] + 1]
    assert caret.strip() == "^" and caret.index("^") == len(gutter) + col - 1, stderr
    hints = [l for l in block if l.startswith("  hint: ")]
    assert hints == expected[1:], stderr


def test_corpus_is_big_enough():
    assert len(CASES) >= 45
    for name in CASES:
        assert (ERR / f"{name}.expected").exists(), f"{name}.nn has no .expected file"


@pytest.mark.parametrize("name", [_param(n) for n in CASES])
def test_check_reports(name, capsys, monkeypatch):
    monkeypatch.chdir(ERR)
    rc = main(["check", f"{name}.nn"])
    out = capsys.readouterr()
    assert out.out == ""
    check_diagnostic(name, rc, out.err)


@pytest.mark.parametrize("name", [_param(n) for n in SUBPROCESS_CASES])
def test_check_subprocess(name):
    r = subprocess.run([sys.executable, "-m", "specc", "check", f"{name}.nn"], cwd=ERR,
                       capture_output=True, text=True, timeout=60)
    check_diagnostic(name, r.returncode, r.stderr)


@pytest.mark.parametrize("name", CASES)
def test_summary_and_fmt_fail_cleanly_too(name, capsys, monkeypatch, tmp_path):
    """Every command that reads a spec reports the same kind of error; fmt never rewrites a broken file."""
    original = (ERR / f"{name}.nn").read_bytes()
    (tmp_path / f"{name}.nn").write_bytes(original)  # a copy: fmt must never touch the corpus
    monkeypatch.chdir(tmp_path)
    assert main(["summary", f"{name}.nn"]) == 2
    assert main(["fmt", f"{name}.nn"]) == 2
    assert (tmp_path / f"{name}.nn").read_bytes() == original
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{name}.nn:" in err
