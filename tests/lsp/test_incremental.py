"""The incremental parser gives exactly the full parse (positions included) and re-parses only what changed."""
from __future__ import annotations

import dataclasses
import pathlib
import random
import sys

import pytest

from specc.errors import SpecError
from specc.ir import Pos
from specc.lsp.incremental import IncrementalParser, shift
from specc.parser import parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.nn")) + [ROOT / "tests" / "lsp" / "graph.nn"]
sys.path.insert(0, str(ROOT / "bench"))
from parse_1000 import spec as deep_spec  # noqa: E402


def exact(node):
    """A node as plain data with every position, which == on the syntax tree ignores."""
    if isinstance(node, tuple):
        return tuple(exact(x) for x in node)
    if dataclasses.is_dataclass(node):
        return (type(node).__name__,) + tuple((f.name, exact(getattr(node, f.name)))
                                              for f in dataclasses.fields(node) if f.name not in ("text", "comments"))
    return node


def outcome(fn):
    try:
        return exact(fn().items)
    except SpecError as e:
        return ("error", e.message, e.pos, e.hint)


def edits(text: str, rng: random.Random, n: int):
    """Line edits an editor makes: delete, duplicate, insert blank, type a character, split a line."""
    lines = text.split("\n")
    for _ in range(n):
        i = rng.randrange(len(lines))
        kind = rng.choice(["delete", "duplicate", "blank", "char", "split"])
        new = list(lines)
        if kind == "delete":
            del new[i]
        elif kind == "duplicate":
            new.insert(i, lines[i])
        elif kind == "blank":
            new.insert(i, "")
        elif kind == "char":
            col = rng.randrange(len(lines[i]) + 1)
            new[i] = lines[i][:col] + rng.choice("x1(){}[]=,;#\" ") + lines[i][col:]
        else:
            col = rng.randrange(len(lines[i]) + 1)
            new[i:i + 1] = [lines[i][:col], lines[i][col:]]
        yield "\n".join(new)


@pytest.mark.parametrize("path", EXAMPLES + ["deep"], ids=lambda p: getattr(p, "name", p))
def test_same_tree_or_error_as_a_full_parse_over_random_edits(path):
    text = deep_spec(120) if path == "deep" else path.read_text()
    parser = IncrementalParser("f.nn")
    assert outcome(lambda: parser.parse(text)) == outcome(lambda: parse(text, "f.nn"))
    rng = random.Random(0)
    for version in edits(text, rng, 30):  # each edit applied to the previous parse's cache
        assert outcome(lambda: parser.parse(version)) == outcome(lambda: parse(version, "f.nn"))
        assert outcome(lambda: parser.parse(text)) == outcome(lambda: parse(text, "f.nn"))


def test_a_one_line_edit_reparses_one_piece():
    text = deep_spec(1000)
    parser = IncrementalParser("deep.nn")
    parser.parse(text)
    lines = text.split("\n")
    i = next(n for n in range(500, len(lines)) if lines[n].strip().startswith("dense(32)"))
    before = parser.parsed
    lines[i] = lines[i].replace("dense(32)", "dense(33)")
    parser.parse("\n".join(lines))
    assert parser.parsed - before == 1
    lines.insert(i, "    relu")  # a new line: the pieces below move, and are reused moved
    before = parser.parsed
    tree = parser.parse("\n".join(lines))
    assert parser.parsed - before == 1
    assert exact(tree.items) == exact(parse("\n".join(lines), "deep.nn").items)


def test_shift_moves_positions_and_end_lines():
    tree = parse("model m {\n    input [2]\n    residual {\n        relu\n    }\n}\n", "f.nn")
    moved = shift(tree.items[0], 3)
    assert moved.pos == Pos("f.nn", 4, 1) and moved.end_line == 9
    assert moved.body[1].end_line == 8 and moved.body[1].body[0].pos.line == 7
