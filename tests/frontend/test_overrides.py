"""`--set section.key=value`: parsed with the spec grammar, checked like the file, errors positioned
in the `--set` text (file `--set`, line 1, column of the offending token)."""
from __future__ import annotations

from pathlib import Path

import pytest

from specc.cli import main
from specc.errors import SpecError, SpecErrors
from specc.frontend import compile_file
from specc.parser import parse_override

MNIST = str(Path(__file__).parent / "ok" / "mnist_mlp.nn")


def test_override_replaces_values():
    p = compile_file(MNIST, overrides=["train.epochs=5", "train.optimizer=adam(lr=1e-3)", "data.val=0.2",
                                       "train.metrics=[accuracy, top_k(3)]"])
    assert p.train.epochs == 5
    assert p.train.optimizer.name == "adam" and p.train.optimizer.args["lr"] == 1e-3
    assert p.data.val == 0.2
    assert [m.name for m in p.train.metrics] == ["accuracy", "top_k"]
    base = compile_file(MNIST)
    assert p.model == base.model and p.train.batch == base.train.batch  # the rest untouched


def test_override_adds_missing_keys_and_sections(tmp_path):
    f = tmp_path / "m.nn"
    f.write_text("model m { input [2]; dense(1); sigmoid }\n")
    p = compile_file(str(f), overrides=["data.source=xor()", "train.loss=bce", "train.optimizer=sgd(lr=0.1)",
                                        "train.steps=7"])
    assert p.data.source.kind == "xor" and p.train.loss.name == "bce" and p.train.steps == 7


def test_override_keyword_values():
    o = parse_override('data.train=csv("a.csv", target="y")')
    assert (o.section, o.key, o.value.name) == ("data", "train", "csv")
    o = parse_override("data.target=input")
    assert o.value.id == "input"


def test_last_override_wins():
    p = compile_file(MNIST, overrides=["train.batch=8", "train.batch=16"])
    assert p.train.batch == 16


@pytest.mark.parametrize("text, col, words", [
    ("train.epoch=5", 7, ["unknown key `epoch` in `train`", "did you mean `epochs`?"]),
    ("train.batch=0", 13, ["`batch` must be at least 1"]),
    ("train.optimizer=adam(lr=-1)", 25, ["adam's `lr` must be > 0"]),
    ("train.loss=mse", 12, ["loss `mse` on a model ending in `softmax`"]),
    ("train.epochs", 1, ["--set expects section.key=value"]),
    ("foo.bar=1", 1, ["unexpected `foo`"]),
    ("train.epochs=5 6", 16, ["unexpected `6`"]),
])
def test_bad_override_is_positioned(text, col, words, capsys):
    rc = main(["check", MNIST, "--set", text])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    head = err.splitlines()[0]
    assert head.startswith(f"--set:1:{col}: error: ")
    assert f"    1 | {text}" in err
    caret = err.splitlines()[2]
    assert caret.index("^") == len("    1 | ") + col - 1
    for w in words:
        assert w in err


def test_override_errors_raise_spec_errors():
    with pytest.raises((SpecError, SpecErrors)):
        compile_file(MNIST, overrides=["train.batch=-3"])


@pytest.mark.parametrize("text", ["foo.bar=1", "train.=3"])
def test_bad_override_hint_names_the_form(text, capsys):
    assert main(["check", MNIST, "--set", text]) == 2
    err = capsys.readouterr().err
    assert "train.KEY=VALUE" in err or "section.key=value" in err


def test_summary_and_check_take_set(capsys):
    assert main(["summary", MNIST, "--set", "train.epochs=1"]) == 0
    assert "Total params: 79,510" in capsys.readouterr().out
