"""`specc graph`: DOT text from the IR (nodes, shapes on edges, residual clusters) and rendering."""
from __future__ import annotations

import os
import re
import stat

import pytest

from specc.frontend import compile_text
from specc.graph import op_text, output_format, quote, render, to_dot

CNN = """
model cnn {
    input image [1, 8, 8]
    conv2d(4, 3, pad=same)
    relu
    maxpool(2)
    flatten
    dense(3, name="head")
    softmax
}
"""

RES = """
model res {
    input x [6]
    dense(6)
    residual {
        dense(6)
        relu
    }
    dense(2, bias=false)
}
"""


def edges(dot: str) -> list[tuple[str, str, str]]:
    """(source, destination, label) of every edge."""
    return re.findall(r'"([^"]+)" -> "([^"]+)" \[label="([^"]*)"', dot)


def test_one_node_per_layer_with_op_and_params():
    dot = to_dot(compile_text(CNN))
    for name in ("conv2d_1", "relu_1", "maxpool_1", "flatten_1", "head", "softmax_1"):
        assert re.search(rf'^\s*"{name}" \[label=', dot, re.M), name
    assert r'conv2d(filters=4, kernel=3, stride=1, pad=1, init=he_normal)\nweight [4, 1, 3, 3]\nbias [4]' in dot
    assert r'head\ndense(units=3, init=glorot_normal)\nweight [3, 64]' in dot


def test_edges_carry_the_tensor_shapes_in_order():
    assert edges(to_dot(compile_text(CNN))) == [
        ("input:image", "conv2d_1", "[1, 8, 8]"),
        ("conv2d_1", "relu_1", "[4, 8, 8]"),
        ("relu_1", "maxpool_1", "[4, 8, 8]"),
        ("maxpool_1", "flatten_1", "[4, 4, 4]"),
        ("flatten_1", "head", "[64]"),
        ("head", "softmax_1", "[3]"),
        ("softmax_1", "output:output", "[3]"),
    ]


def test_residual_is_an_add_node_with_a_dashed_skip_edge():
    dot = to_dot(compile_text(RES))
    assert re.search(r'"residual_1" \[label="\+\\nresidual_1", shape=circle', dot)
    assert edges(dot) == [
        ("input:x", "dense_1", "[6]"),
        ("dense_1", "dense_2", "[6]"),
        ("dense_2", "relu_1", "[6]"),
        ("dense_1", "residual_1", "[6]"),  # the skip connection
        ("relu_1", "residual_1", "[6]"),
        ("residual_1", "dense_3", "[6]"),
        ("dense_3", "output:output", "[2]"),
    ]
    assert re.search(r'"dense_1" -> "residual_1" \[label="\[6\]", style=dashed', dot)
    assert "bias=false" in dot


def test_graphs_draw_branches_merges_and_every_output():
    text = """model two {
        input image [1, 4, 4]
        input meta [3]
        flatten(name="img")
        from meta
        dense(4, name="tab")
        concat(img, tab)
        dense(2); softmax
        output digit
        from tab
        dense(3)
        output recon
    }"""
    dot = to_dot(compile_text(text))
    e = edges(dot)
    assert ("input:meta", "tab", "[3]") in e and ("img", "concat_1", "[16]") in e and ("tab", "concat_1", "[4]") in e
    assert ("softmax_1", "output:digit", "[2]") in e and ("dense_2", "output:recon", "[3]") in e
    assert '"tab" -> "dense_2" [label="[4]", style=dashed' in dot  # a branch taken with `from`


def test_nested_residuals_add_in_order():
    text = "model n { input x [4]; residual { dense(4); residual { dense(4); tanh } } }"
    dot = to_dot(compile_text(text))
    assert ("dense_1", "residual_2", "[4]") in edges(dot)
    assert ("residual_2", "residual_1", "[4]") in edges(dot)
    assert ("input:x", "residual_1", "[4]") in edges(dot)


def test_dot_is_balanced_and_deterministic():
    program = compile_text(RES)
    dot = to_dot(program)
    assert dot == to_dot(program)
    assert dot.count("{") == dot.count("}")
    assert dot.startswith('digraph "res" {') and dot.rstrip().endswith("}")


def test_quoting_and_attribute_forms():
    assert quote('a "b"\\c\nd') == r'"a \"b\"\\c\nd"'
    program = compile_text("model m { input x [1, 9, 7]; conv2d(2, [3, 1], stride=[2, 1], init=normal(0.02)) }")
    assert op_text(program.model.layers[0]) == "conv2d(filters=2, kernel=3x1, stride=2x1, pad=0, init=normal(0.02))"


@pytest.mark.parametrize("name,fmt", [("m.dot", "dot"), ("m.gv", "dot"), ("M.SVG", "svg"), ("m.png", "png")])
def test_output_format_from_extension(name, fmt):
    assert output_format(name) == fmt


def test_unknown_extension_is_an_error():
    with pytest.raises(ValueError, match="extension"):
        output_format("model.txt")


# ---- the command ---------------------------------------------------------------

@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "res.nn"
    path.write_text(RES)
    return path


def run_cli(*args):
    from specc.cli import main

    return main([str(a) for a in args])


def test_cli_prints_dot_to_stdout(spec, capsys):
    assert run_cli("graph", spec) == 0
    assert capsys.readouterr().out == to_dot(compile_text(RES))


def test_cli_writes_dot_file(spec, tmp_path):
    out = tmp_path / "model.dot"
    assert run_cli("graph", spec, "-o", out) == 0
    assert out.read_text() == to_dot(compile_text(RES))


def test_cli_without_graphviz_explains_and_exits_2(spec, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert run_cli("graph", spec, "-o", tmp_path / "model.svg") == 2
    err = capsys.readouterr().err
    assert "Graphviz" in err and "model.dot" in err
    assert not (tmp_path / "model.svg").exists()


def test_cli_bad_extension_exits_2(spec, tmp_path, capsys):
    assert run_cli("graph", spec, "-o", tmp_path / "model.txt") == 2
    assert "extension" in capsys.readouterr().err


def test_cli_spec_error_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.nn"
    bad.write_text("model b { input x [4]; rleu }")
    assert run_cli("graph", bad) == 2
    assert "did you mean `relu`" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="the stand-in `dot` is a shell script")
def test_render_runs_dot_with_the_format(tmp_path):
    """A stand-in `dot` records its arguments and copies stdin to the -o file."""
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\ncat > "$3"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "m.svg"
    render("digraph {}\n", str(out), "svg", dot_binary=str(fake))
    assert (tmp_path / "args").read_text().split() == ["-Tsvg", "-o", str(out)]
    assert out.read_text() == "digraph {}\n"


def test_render_reports_dot_failure(tmp_path):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(RuntimeError, match="syntax error"):
        render("digraph {", str(tmp_path / "m.png"), "png", dot_binary=str(fake))
