"""The shipped LALR tables (grammar/specc.tables.json) are the grammar's, and parse as the built parser does.

Two builds of the same grammar number their LALR states differently (Lark's table
construction follows set order, which varies with PYTHONHASHSEED), so the tables are
compared by behaviour, over every example and corpus file, not byte for byte.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import lark
import pytest
from lark.exceptions import UnexpectedInput

from repo_paths import EXAMPLES_DIR, ROOT
from specc import parsetables
from specc.parser import _BracketNewlines

CORPUS = [p for d in (Path(EXAMPLES_DIR), Path(ROOT, "tests", "frontend", "ok"), Path(ROOT, "tests", "frontend", "err"))
          for p in sorted(d.glob("*.nn"))]


def stored() -> dict:
    return json.loads(resources.files("specc.grammar").joinpath(parsetables.TABLES).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def parsers():
    return parsetables.load(_BracketNewlines()), parsetables.build(_BracketNewlines())


def test_tables_are_of_this_grammar():
    """Fails when grammar/specc.lark is edited without `python -m specc.parsetables`."""
    assert stored()["grammar"] == parsetables.grammar_text(), \
        "grammar/specc.tables.json is stale: run `python -m specc.parsetables`"


def test_tables_load_with_this_lark(parsers):
    loaded, _ = parsers
    assert loaded is not None, "the shipped tables were not used: regenerate them with `python -m specc.parsetables`"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_loaded_parser_parses_as_the_built_one(parsers, path):
    loaded, built = parsers
    text = path.read_bytes().decode("utf-8", errors="replace")  # err/ holds a file that is not UTF-8
    outcomes = []
    for parser in (loaded, built):
        try:
            outcomes.append(("tree", parser.parse(text, start="start")))
        except UnexpectedInput as e:
            outcomes.append(("error", type(e).__name__, e.line, e.column, sorted(getattr(e, "expected", None) or [])))
    assert outcomes[0] == outcomes[1]


def test_edited_grammar_builds_from_grammar(monkeypatch):
    """A grammar that no longer matches the tables is never parsed with them."""
    text = parsetables.grammar_text()
    monkeypatch.setattr(parsetables, "grammar_text", lambda: text + "\n// edited\n")
    assert parsetables.load(_BracketNewlines()) is None


def test_other_lark_builds_from_grammar(monkeypatch):
    monkeypatch.setattr(lark, "__version__", "0.0-other")
    assert parsetables.load(_BracketNewlines()) is None


def test_missing_tables_build_from_grammar(monkeypatch):
    monkeypatch.setattr(parsetables, "TABLES", "no-such-file.json")
    assert parsetables.load(_BracketNewlines()) is None
