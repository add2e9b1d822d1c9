"""The graph build resumes at the first changed statement and stops where the chain is the same
as last time (specc/passes/graph.py): its result equals a full check after any edit sequence,
and an edit re-runs the shape rules of the statements it can change, not of the whole model."""
from __future__ import annotations

import pathlib
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specc.lsp.analysis import analyse
from specc.lsp.incremental import Incremental
from specc.passes.layers import GraphBuilder

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from parse_1000 import spec as deep_spec  # noqa: E402
from lsp_analysis import everything  # noqa: E402


def graph_spec(segments: int) -> str:
    """A model of named values, merges, `from`, residuals, block uses and outputs, many pieces long."""
    lines = ["block pair(n, a=0.1) {", "    dense(n, name=\"inner\")", "    leaky_relu(alpha=a)", "}", "",
             "model net {", "    input x [16]", "    dense(16, name=\"trunk\")", "    relu"]
    for i in range(segments):
        lines += [f"    dense(16, name=\"left{i}\")", "    tanh", "    from trunk", "    dense(16)",
                  f"    relu(name=\"right{i}\")", f"    add(left{i}, right{i})", "    pair(16)", "    residual {",
                  "        dense(16)", "        relu", "    }", "    dense(16)", "    sigmoid"]
    lines += ["    dense(3)", "    softmax", "    output probs", "}", "",
              "data { source = blobs(200, 3, 1.0, 16) }",
              "train { loss = cross_entropy; optimizer = adam(lr=1e-3); epochs = 2 }"]
    return "\n".join(lines) + "\n"


SPECS = {"graph": graph_spec(12), "deep": deep_spec(120)}
# One-line statements an edit may put in place of another (the line count stays, so the text
# after the edit keeps its syntax objects and the build can stop early): they break arguments,
# shapes and lookups, rename, give names a default could take, and rewire.
POOL = ["    dense(16)", "    dense(8)", "    dense(32)", "    dense(16, unit=3)", "    relu", "    sigmoid",
        "    from trunk", "    from left3", "    from right7", "    from nowhere", "    from dense_9",
        "    dense(16, name=\"left2\")", "    dense(16, name=\"dense_7\")", "    dense(16, name=\"trunk\")",
        "    relu(name=\"right5\")", "    add(left1, right1)", "    add(left4, inner)", "    add(trunk, pair_2)",
        "    output extra", "    output probs", "    pair(16)", "    pair(16, name=\"p\")", "    pair(8, a=0.3)",
        "    conv2d(8, 3)", "    dropout(0.5)", "    dense(16, init=auto)", "    dense(16, init=zeros)",
        "    tanh", "    flatten", "    input y [4]", ""]
EDIT = st.tuples(st.sampled_from(["replace", "type"]), st.integers(0, 10**6), st.sampled_from(POOL),
                 st.sampled_from(list("x1(),=\" ")))


def apply(text: str, edit) -> str:
    """Replace a line of the model's body, or type a character in it; the line count stays."""
    kind, n, line, char = edit
    lines = text.split("\n")
    first = lines.index(next(l for l in lines if l.startswith("model"))) + 2
    last = lines.index("}", first) - 1
    i = first + n % (last - first + 1)
    if lines[i].strip() in ("residual {", "}"):
        return text  # keep the braces: a residual's body is a statement of its own
    if kind == "replace":
        lines[i] = line
    else:
        col = 4 + n % max(len(lines[i]) - 3, 1)
        lines[i] = lines[i][:col] + char + lines[i][col:]
    return "\n".join(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SPECS)), script=st.lists(EDIT, min_size=1, max_size=10))
def test_the_resumed_build_equals_a_full_check_after_every_edit(name, script):
    text = SPECS[name]
    cache = Incremental("m.nn")
    assert everything(analyse(text, "m.nn", cache)) == everything(analyse(text, "m.nn"))
    for edit in script:
        text = apply(text, edit)
        assert everything(analyse(text, "m.nn", cache)) == everything(analyse(text, "m.nn"))


@pytest.fixture
def shape_rules_run(monkeypatch):
    """The lines of the layers whose shape the graph builder works out (from its rule or the memo);
    the model's own layers (a block use's are at the block's lines)."""
    lines: list[int] = []
    original = GraphBuilder._layer

    def layer(self, raw, current):
        if not raw.scope:
            lines.append(raw.pos.line)
        return original(self, raw, current)

    monkeypatch.setattr(GraphBuilder, "_layer", layer)
    return lines


def _edited(text: str, needle: str, new: str, after: float) -> tuple[str, int]:
    """`text` with the first line at or after the fraction `after` of the lines that holds
    `needle` changed; and that line's number (1-based)."""
    lines = text.split("\n")
    i = next(n for n in range(int(len(lines) * after), len(lines)) if needle in lines[n])
    lines[i] = lines[i].replace(needle, new)
    return "\n".join(lines), i + 1


@pytest.mark.parametrize("new", ["dense(32, unit=3)", "dense(32, init=zeros)", "dense(8)"])
def test_an_edit_near_the_end_runs_no_shape_rule_of_the_first_layers(shape_rules_run, new):
    text = deep_spec(1000)
    cache = Incremental("deep.nn")
    analyse(text, "deep.nn", cache)
    assert len(shape_rules_run) > 900  # the first check builds every layer (of the model; its blocks too)
    shape_rules_run.clear()
    edited, line = _edited(text, "dense(32)", new, 0.9)
    analysis = analyse(edited, "deep.nn", cache)
    built = list(shape_rules_run)
    assert analysis.problems == analyse(edited, "deep.nn").problems
    assert built and min(built) >= line - 64  # its piece of text at most (MAX_PIECE lines)


@pytest.mark.parametrize("new", ["dense(32, unit=3)", "dense(32, init=zeros)", "dense(8)"])
def test_an_edit_in_the_middle_stops_where_the_chain_is_the_same_again(shape_rules_run, new):
    """A broken argument, another initializer, or a width the next layer absorbs: the layers after
    the edited piece of text are not built again (they are the last check's)."""
    text = deep_spec(1000)
    cache = Incremental("deep.nn")
    analyse(text, "deep.nn", cache)
    shape_rules_run.clear()
    edited, line = _edited(text, "dense(32)", new, 0.5)
    analysis = analyse(edited, "deep.nn", cache)
    built = list(shape_rules_run)
    assert everything(analysis) == everything(analyse(edited, "deep.nn"))
    assert built and line - 64 <= min(built) and max(built) <= line + 64


def test_an_edit_that_changes_what_flows_on_builds_the_rest_again(shape_rules_run):
    """The test above can fail: when the shape flowing out changes for good, every later layer is
    built again."""
    text = deep_spec(300)
    cache = Incremental("deep.nn")
    analyse(text, "deep.nn", cache)
    shape_rules_run.clear()
    edited, line = _edited(text, "    input [32]", "    input [31]", 0.0)
    analysis = analyse(edited, "deep.nn", cache)
    built = list(shape_rules_run)
    assert everything(analysis) == everything(analyse(edited, "deep.nn"))
    assert max(built) > line + 200


def test_a_layer_with_an_argument_error_keeps_its_default_name():
    """So the names of the layers after it (in hints, hovers and messages) stay while it is fixed."""
    from specc.frontend import check_spec
    from specc.parser import parse

    checked = check_spec(parse("model m { input [4]; dense(5, unit=3); relu; dense(2); relu }", "m.nn"))
    assert [e.message for e in checked.errors] == ["unknown argument `unit` for layer `dense`"]
    assert [layer.name for layer in checked.model.layers] == ["relu_1", "dense_2", "relu_2"]
