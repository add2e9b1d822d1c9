"""`specc eval` and `specc export` show progress on a terminal (samples evaluated; the export's stages),
and nothing with --quiet or when stderr is not a terminal, like `specc train`."""
from __future__ import annotations

import io
import sys

import pytest

from specc import cli

from .conftest import train


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def run(specs, tmp_path):
    assert train(specs["moons"], tmp_path / "run") == 0
    return specs["moons"], str(tmp_path / "run")


def _stderr(monkeypatch, stream, *argv) -> str:
    monkeypatch.setattr(sys, "stderr", stream)
    assert cli.main(list(argv)) == 0
    return stream.getvalue()


def test_eval_counts_the_samples_it_evaluated(run, monkeypatch, capsys):
    spec, out = run
    err = _stderr(monkeypatch, Terminal(), "eval", spec, "--weights", out)
    assert "eval test" in err and "16/16" in err  # moons(n=80) with split 0.2: 16 test samples
    assert "accuracy" in capsys.readouterr().out
    assert _stderr(monkeypatch, Terminal(), "eval", spec, "--weights", out, "--quiet") == ""
    assert _stderr(monkeypatch, io.StringIO(), "eval", spec, "--weights", out) == ""  # not a terminal


def test_export_names_its_stages(run, monkeypatch, tmp_path):
    spec, out = run
    err = _stderr(monkeypatch, Terminal(), "export", spec, "--weights", out, "-o", str(tmp_path / "m.onnx"))
    assert "export" in err and "4/4" in err and "write" in err
    assert _stderr(monkeypatch, Terminal(), "export", spec, "--weights", out, "-o", str(tmp_path / "m.onnx"),
                   "--quiet") == ""
    assert _stderr(monkeypatch, io.StringIO(), "export", spec, "--weights", out, "-o",
                   str(tmp_path / "m.onnx")) == ""


def test_eval_of_many_samples_goes_in_pieces_with_the_same_result(specs, tmp_path, monkeypatch):
    """A split evaluated in several pieces gives the numbers of one piece."""
    from specc import evaluation
    from specc.frontend import compile_file

    assert train(specs["moons"], tmp_path / "r") == 0
    program = compile_file(specs["moons"])
    whole = evaluation.evaluate_run(program, tmp_path / "r", split="train")
    calls = []
    split = evaluation.evaluate_split
    monkeypatch.setattr(evaluation, "evaluate_split", lambda *a: calls.append(a) or split(*a))
    monkeypatch.setattr(evaluation, "MIN_EVAL_BATCH", 8)
    monkeypatch.setattr(evaluation, "PIECE_BATCHES", 1)  # 48 training samples in 6 pieces of one batch of 8
    pieces = evaluation.evaluate_run(program, tmp_path / "r", split="train")
    assert calls and calls[0][4] == 8
    assert pieces == pytest.approx(whole, rel=1e-6)  # float32 batch means of 8 instead of one of 48
