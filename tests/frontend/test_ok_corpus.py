"""Every ok/*.nn compiles, and both printers round-trip it.

  format_program:  compile(format_program(p)) == p         (the run directory's spec.nn)
  format_syntax:   compile(fmt(x)) == compile(x), fmt(fmt(x)) == fmt(x)   (`specc fmt`)
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from specc.cli import main
from specc.frontend import compile_file, compile_text, read_spec
from specc.ir import Program
from specc.parser import parse
from specc.printer import format_program, format_syntax

OK = Path(__file__).parent / "ok"
CASES = sorted(p.name for p in OK.glob("*.nn"))

# Known printer bugs: case -> reason (strict xfail, so a fix shows up as XPASS).
FORMAT_PROGRAM_BUGS: dict[str, str] = {}


def _fp_param(name):
    if name in FORMAT_PROGRAM_BUGS:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=FORMAT_PROGRAM_BUGS[name]))
    return name


def test_corpus_present():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
def test_compiles(name):
    p = compile_file(str(OK / name))
    assert isinstance(p, Program)
    assert p.model.layers
    assert all(l.out_shape for l in p.all_layers())


@pytest.mark.parametrize("name", [_fp_param(n) for n in CASES])
def test_format_program_round_trip(name):
    path = str(OK / name)
    p = compile_file(path)
    text = format_program(p)
    # Same path: relative data paths are resolved against it (format_program writes them absolute).
    assert compile_text(text, path) == p
    assert format_program(compile_text(text, path)) == text  # and the printer is stable


@pytest.mark.parametrize("name", CASES)
def test_fmt_round_trip(name):
    path = str(OK / name)
    text = read_spec(path)
    once = format_syntax(parse(text, path))
    assert compile_text(once, path) == compile_text(text, path)
    assert format_syntax(parse(once, path)) == once  # idempotent


@pytest.mark.parametrize("name", CASES)
def test_fmt_keeps_comments(name):
    text = read_spec(str(OK / name))
    once = format_syntax(parse(text))
    comments = [l[l.index("#"):].rstrip() for l in text.splitlines() if "#" in l and '"' not in l]
    for c in comments:
        assert c in once


def test_fmt_cli_check_then_write(tmp_path, capsys):
    f = tmp_path / "x.nn"
    shutil.copy(OK / "separators_comments.nn", f)
    before = f.read_text()
    assert main(["fmt", "--check", str(f)]) == 1
    assert f.read_text() == before  # --check writes nothing
    assert main(["fmt", str(f)]) == 0
    assert main(["fmt", "--check", str(f)]) == 0
    assert compile_file(str(f)) == compile_file(str(OK / "separators_comments.nn"))
    capsys.readouterr()


def test_check_cli_ok(capsys):
    rc = main(["check", *[str(OK / n) for n in CASES]])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert out.out.count("ok: ") == len(CASES)


def test_mnist_example_matches_reference():
    """The language reference's own example, field by field."""
    p = compile_file(str(OK / "mnist_mlp.nn"))
    assert p.model.name == "mnist_mlp" and p.model.input_name == "image" and p.model.input_shape == (784,)
    assert [l.op for l in p.model.layers] == ["dense", "sigmoid", "dense", "softmax"]
    assert [l.name for l in p.model.layers] == ["dense_1", "sigmoid_1", "dense_2", "softmax_1"]
    t = p.train
    assert (t.loss.name, t.optimizer.name, t.optimizer.args["lr"], t.optimizer.args["momentum"]) == (
        "cross_entropy", "sgd", 0.5, 0.9)
    assert t.schedule.name == "exponential" and t.schedule.args["s"] == 2000 and t.schedule.args["per"] == "step"
    assert (t.batch, t.epochs, t.steps, t.l2, t.seed) == (10, 30, None, 5e-5, 42)
    assert t.early_stop.patience == 5 and t.early_stop.monitor == "val_loss"
    assert [m.name for m in t.metrics] == ["accuracy"]
    d = p.data
    assert d.train.kind == "mnist" and d.train.args["part"] == "train" and d.test.args["part"] == "test"
    assert d.train.args["dir"] == str(OK / "data" / "mnist")  # relative to the .nn file
    assert d.val == 0.1 and d.prep_of("image").standardize is True


def test_block_expansion_equals_hand_written():
    blocks = compile_file(str(OK / "conv_pool_block.nn"))
    flat = compile_text(read_spec(str(OK / "conv_pool_block.nn")).replace(
        "conv_pool(20)", "conv2d(20, 5); relu; maxpool(2)").replace(
        "conv_pool(50)", "conv2d(50, 5); relu; maxpool(2)"))
    assert blocks.model == flat.model


def test_separators_and_multiline_calls():
    p = compile_file(str(OK / "separators_comments.nn"))
    assert [l.op for l in p.model.layers] == ["dense", "tanh", "dense", "sigmoid"]
    assert p.train.optimizer.args == {"lr": 0.5, "momentum": 0.9, "nesterov": True}
    assert [m.name for m in p.train.metrics] == ["accuracy", "mse"]
    assert p.data.split == (0.5, 0.0, 0.5)


def test_crlf_and_bom_equal_plain():
    text = (OK / "windows_crlf_bom.nn").read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and b"\r\n" in text
    plain = text[3:].replace(b"\r\n", b"\n").decode()
    assert compile_file(str(OK / "windows_crlf_bom.nn")) == compile_text(plain)
