"""Diagnostics beyond the golden corpus: several errors at once, no cascades, hints for
unclosed brackets, and known gaps (strict xfails, each naming the function to fix)."""
from __future__ import annotations

from pathlib import Path

import pytest

from specc.cli import main
from specc.errors import SpecError, SpecErrors
from specc.frontend import compile_text

ERR = Path(__file__).parent / "err"


def errors_of(text):
    with pytest.raises((SpecError, SpecErrors)) as e:
        compile_text(text, "t.nn")
    return e.value.errors if isinstance(e.value, SpecErrors) else [e.value]


def test_multiple_independent_errors_are_all_reported(capsys, monkeypatch):
    monkeypatch.chdir(ERR)
    assert main(["check", "multiple_errors.nn"]) == 2
    err = capsys.readouterr().err
    for head in ["multiple_errors.nn:4:5: error: unknown layer `rleu`",
                 "multiple_errors.nn:5:15: error: unknown argument `unit` for layer `dense`",
                 "multiple_errors.nn:6:5: error: unknown layer `sofmax`",
                 "multiple_errors.nn:11:13: error: `batch` must be at least 1, got `0`",
                 "multiple_errors.nn:12:5: error: unknown key `epoch` in `train`"]:
        assert head in err.splitlines()
    assert err.count("^") >= 5
    heads = [l for l in err.splitlines() if ": error: " in l]
    assert heads == sorted(heads, key=lambda h: tuple(int(x) for x in h.split(":")[1:3]))  # in file order


def test_errors_in_model_data_and_train_together():
    errs = errors_of("model m { input [4]; dense(0); relu }\n"
                     "data { source = moons(); split = [0.5, 0.6] }\n"
                     "train { loss = mse; optimizer = sgd(lr=0); batch = -1 }")
    msgs = [e.message for e in errs]
    assert any("units" in m for m in msgs) and any("split" in m for m in msgs)
    assert any("lr" in m for m in msgs) and any("batch" in m for m in msgs)
    assert all(e.pos and e.pos.line >= 1 and e.pos.column >= 1 for e in errs)


def test_errors_after_a_shape_error_still_checked():
    text = "model m { input [1, 8, 8]; dense(4); relu; dropout(2) }"
    errs = errors_of(text)
    assert [e.pos.column for e in errs] == [text.index("dense") + 1, text.index("2)") + 1]


def test_no_cascade_loss_error_after_unknown_last_layer():
    errs = errors_of("model m { input [4]; dense(10); sofmax }\ntrain { loss = cross_entropy; optimizer = sgd(lr=1) }")
    assert [e.message for e in errs] == ["unknown layer `sofmax`"]


def test_no_spurious_no_layers_error():
    errs = errors_of("model m { input [4]; dense(units=0) }")
    assert len(errs) == 1 and "units" in errs[0].message


def test_error_in_block_body_reported_once():
    errs = errors_of("block b(n) { dense(n); rleu }\nmodel m { input [4]; b(3); b(3) }")
    assert len(errs) == 1


@pytest.mark.parametrize("text", ["model m {\n    input [4]\n    dense(10\n    relu\n}\n",
                                  "model m {\n    input [4, 5\n    dense(3)\n}\n"])
def test_unclosed_bracket_hint_names_it(text):
    (e,) = errors_of(text)
    assert "not closed" in (e.hint or "") and ("line 3" in e.hint or "line 2" in e.hint)


def test_classes_must_be_names():
    errs = errors_of("model m { input [2]; dense(2); softmax }\ndata { train = xor(); classes = [f(1), g] }")
    assert "a class must be a name" in errs[0].message and errs[0].pos.column == 34  # at the bad item


def test_absurd_sizes_are_rejected():
    errs = errors_of("model m { input [4]; dense(99999999999999999999999) }")
    assert "units" in errs[0].message


def test_keyword_used_as_layer_is_a_positioned_syntax_error():
    (e,) = errors_of("model m {\n    input [4]\n    train\n}\n")
    assert (e.pos.line, e.pos.column) == (3, 5) and "`train`" in e.message


def test_tabs_are_expanded_in_caret_line():
    text = "model m {\n\tinput [4]\n\tdense(3)\n\t\trleu\n}\n"
    (e,) = errors_of(text)
    head, src, caret = e.render().splitlines()[:3]
    assert head == "t.nn:4:3: error: unknown layer `rleu`"
    assert src[caret.index("^"):].startswith("rleu")


def test_huge_line_is_windowed():
    text = "model m { input [4]; " + "relu; " * 20000 + "rleu }"
    errs = errors_of(text)
    shown = errs[-1].render().splitlines()
    assert all(len(l) < 400 for l in shown)
    assert shown[2].rstrip().endswith("^")
    src, caret = shown[1], shown[2]
    assert src[caret.index("^"):].startswith("rleu")


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf", b"   \t  "])
def test_empty_files(tmp_path, capsys, data):
    f = tmp_path / "empty.nn"
    f.write_bytes(data)
    assert main(["check", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"{f}:1:1: error: no `model NAME {{ ... }}` in this spec"
    assert "Traceback" not in err


def test_missing_file_and_directory(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.nn")]) == 2
    assert main(["check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "is a directory" in err and "Traceback" not in err


def test_several_files_report_each(capsys):
    ok = Path(__file__).parent / "ok" / "mnist_mlp.nn"
    assert main(["check", str(ERR / "typo_layer.nn"), str(ok), str(ERR / "lr_zero.nn")]) == 2
    out = capsys.readouterr()
    assert "ok: " in out.out and "typo_layer.nn:4:5" in out.err and "lr_zero.nn:10:24" in out.err


# ---- static checks the language implies but the front end does not make yet ------------------

def test_top_k_larger_than_outputs():
    errs = errors_of("model m { input [4]; dense(3); softmax }\n"
                     "train { loss = cross_entropy; optimizer = sgd(lr=1); metrics = [top_k(5)] }")
    assert "top_k" in errs[0].message


def test_classes_count_matches_outputs():
    errs = errors_of('model m { input [4]; dense(3); softmax }\ndata { train = xor(); classes = ["a", "b"] }')
    assert "classes" in errs[0].message


def test_softmax_over_one_unit():
    errs = errors_of("model m { input [4]; dense(1); softmax }\ntrain { loss = cross_entropy; optimizer = sgd(lr=1) }")
    assert "sigmoid" in (errs[0].hint or "") + errs[0].message


def test_seed_fits_32_bits():
    errs = errors_of("model m { input [4]; dense(3) }\ntrain { loss = mse; optimizer = sgd(lr=1); seed = 4294967297 }")
    assert "seed" in errs[0].message


# ---- line breaks other than \n -------------------------------------------------------------

ODD_BREAKS = ["\x0c", "\x0b", "\x85", "\u2028", "\x1c"]


@pytest.mark.parametrize("brk", ODD_BREAKS)
def test_caret_line_after_odd_line_break(brk):
    text = f"# note{brk}more\nmodel m {{\n    input [4]\n    rleu\n}}\n"
    errs = errors_of(text)
    e = [x for x in errs if "rleu" in x.message][0]
    assert (e.pos.line, e.pos.column) == (4, 5)
    assert e.render().splitlines()[1] == "    4 |     rleu"


@pytest.mark.parametrize("brk", ["\x0c", "\u2028"])
def test_fmt_keeps_comments_after_odd_line_break(brk):
    from specc.parser import parse
    from specc.printer import format_syntax

    text = f"# a{brk}b\nmodel m {{\n    input [4]\n    # before dense\n    dense(3)  # on dense\n}}\n"
    out = format_syntax(parse(text))
    assert f"# a{brk}b" in out
    assert "# before dense\n    dense(3)  # on dense\n" in out
