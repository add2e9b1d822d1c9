"""The incremental check gives exactly a full check's result after every edit, re-checks only
what an edit can change, and leaves no reference cycles behind (the server relies on that to
run the cycle collector only when the user pauses)."""
from __future__ import annotations

import gc
import pathlib
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specc.lsp.analysis import analyse
from specc.lsp.incremental import MAX_PIECE, Incremental

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from parse_1000 import spec as deep_spec  # noqa: E402
from lsp_analysis import everything  # noqa: E402

SPECS = {p.name: (str(p), p.read_text()) for p in
         [ROOT / "examples" / n for n in ("resnet.nn", "two_heads.nn", "mnist_cnn.nn", "two_inputs.nn")]
         + [ROOT / "tests" / "lsp" / "graph.nn"]}
SPECS["deep"] = ("deep.nn", deep_spec(80))
# Lines an edit may put in: every line of the specs above, and some that break or rewire them.
POOL = sorted({line for _, text in SPECS.values() for line in text.split("\n")} | {
    "    dense(32, unit=3)", "    dense(7)", "    relu", "    residual {", "    }", "    from trunk",
    "    pair(16)", "    pair(n=8, a=0.2)", "    add(trunk, left)", "    output extra", "    conv2d(8, 3)",
    "block pair(n, a=0.1) {", "    dense(n, name=\"inner\")", "    epochs = 5", "    input [4]", "}", ""})
EDIT = st.tuples(st.sampled_from(["replace", "insert", "delete", "duplicate", "type", "join"]),
                 st.integers(0, 10**6), st.sampled_from(POOL), st.sampled_from(list("x1(){}[]=,;#\" ")))


def apply(text: str, edit) -> str:
    """One edit as an editor makes it, at a line chosen by `edit`'s number."""
    kind, n, line, char = edit
    lines = text.split("\n")
    i = n % len(lines)
    if kind == "replace":
        lines[i] = line
    elif kind == "insert":
        lines.insert(i, line)
    elif kind == "delete" and len(lines) > 1:
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "type":
        col = n % (len(lines[i]) + 1)
        lines[i] = lines[i][:col] + char + lines[i][col:]
    elif kind == "join" and i + 1 < len(lines):
        lines[i:i + 2] = [lines[i] + lines[i + 1]]
    return "\n".join(lines)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SPECS)), script=st.lists(EDIT, min_size=1, max_size=8))
def test_incremental_result_equals_a_full_check_after_every_edit(name, script):
    path, text = SPECS[name]
    cache = Incremental(path)
    assert everything(analyse(text, path, cache)) == everything(analyse(text, path))
    for edit in script:  # each edit checked with what the previous checks left in the cache
        text = apply(text, edit)
        assert everything(analyse(text, path, cache)) == everything(analyse(text, path))


def _deep_edit(lines, needle, new):
    i = next(n for n in range(len(lines) // 2, len(lines)) if lines[n].strip().startswith(needle))
    return lines[:i] + [lines[i].replace(needle, new)] + lines[i + 1:]


def checked(memo) -> int:
    """Statements checked afresh: block uses substituted, and arguments checked."""
    return memo.computed_by.get("substituted", 0) + memo.computed_by.get("args", 0)


def test_an_edit_rechecks_only_what_it_can_change():
    text = deep_spec(1000)
    cache = Incremental("deep.nn")
    analyse(text, "deep.nn", cache)
    reuse = cache.reuse
    assert checked(reuse.statements) > 1000  # every statement once

    # `train` changes: the model and its blocks are not checked again
    models, statements = reuse.models_computed, checked(reuse.statements)
    edited = text.replace("epochs = 3", "epochs = 4")
    assert analyse(edited, "deep.nn", cache).problems == []
    assert (reuse.models_computed, checked(reuse.statements)) == (models, statements)

    # one layer changes: the model is checked again, but only the statements of the piece of
    # text parsed again are (a piece is at most MAX_PIECE lines; a block use on one of them
    # is two substituted statements and their two checks), not the other uses of the block
    uses = text.count("pair(32)")
    assert uses > 10
    lines = _deep_edit(edited.split("\n"), "dense(32)", "dense(32, unit=3)")
    [problem] = analyse("\n".join(lines), "deep.nn", cache).problems
    assert "unknown argument `unit`" in problem.message
    assert reuse.models_computed == models + 1
    assert 1 <= checked(reuse.statements) - statements <= min(4 * MAX_PIECE, 2 * uses)
    statements = checked(reuse.statements)
    lines = _deep_edit(lines, "dense(32, unit=3)", "dense(32)")
    assert analyse("\n".join(lines), "deep.nn", cache).problems == []
    assert 1 <= checked(reuse.statements) - statements <= min(4 * MAX_PIECE, 2 * uses)

    # the block changes: its uses are checked again (two statements each: substituted, then
    # checked), the other statements are not
    statements = checked(reuse.statements)
    block_edit = "\n".join(lines).replace("dense(n, init=he_normal)", "dense(n, init=glorot_normal)", 1)
    assert analyse(block_edit, "deep.nn", cache).problems == []
    assert checked(reuse.statements) - statements == 4 * uses


def test_a_full_check_without_the_cache_checks_everything_again():
    """The counters above can fail: without reuse every statement is checked on every edit."""
    from specc.frontend import Reuse, check_spec
    from specc.parser import parse

    text = deep_spec(200)
    reuse = Reuse()
    check_spec(parse(text, "deep.nn"), reuse)
    before = checked(reuse.statements)
    check_spec(parse(text.replace("epochs = 3", "epochs = 4"), "deep.nn"), reuse)  # a fresh tree: new objects
    assert checked(reuse.statements) - before == before
    assert reuse.models_computed == 2


def test_checks_leave_no_reference_cycles():
    text = deep_spec(200)
    cache = Incremental("deep.nn")
    gc.collect()
    gc.disable()
    try:
        for i in range(6):
            lines = text.split("\n")
            if i % 2:
                lines = _deep_edit(lines, "dense(32)", "dense(32, unit=3)")
            analysis = analyse("\n".join(lines), "deep.nn", cache)
            analysis.complete()
        del analysis
        assert gc.collect() == 0
    finally:
        gc.enable()
