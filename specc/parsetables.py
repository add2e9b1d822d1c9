"""The LALR tables of specc's grammar, built once and shipped as JSON.

Building Lark's LALR parser from grammar/specc.lark costs about 50 ms, a quarter of
`specc check`'s start-up. The built parser is plain data (rules, terminals, the
state table), so it is serialized once into grammar/specc.tables.json and loaded with
Lark's own loader for pre-built parsers (`Lark._load_from_dict`, what Lark's
standalone generator uses) in a few milliseconds. JSON, not Lark's pickle cache:
nothing executable is ever read.

The file records the grammar's text and Lark's version. When either differs (the
grammar was edited, another Lark is installed) the tables are not used and the
parser is built from the grammar as before, so a stale file costs time, never
correctness; tests/frontend/test_parsetables.py fails until it is regenerated:

    python -m specc.parsetables        # rewrite grammar/specc.tables.json
"""
from __future__ import annotations

import json
from importlib import resources

GRAMMAR = "specc.lark"
TABLES = "specc.tables.json"
# Lark options of specc's parser; the post-lexer is code and is passed again on load.
OPTIONS = dict(parser="lalr", start=["start", "override"], propagate_positions=True, maybe_placeholders=True)


def grammar_text() -> str:
    return resources.files("specc.grammar").joinpath(GRAMMAR).read_text(encoding="utf-8")


def build(postlex):
    """The parser built from the grammar (the slow path, and the source of the tables)."""
    from lark import Lark
    return Lark(grammar_text(), postlex=postlex, **OPTIONS)


def load(postlex):
    """The parser from the shipped tables, or None when they do not match this grammar and Lark."""
    import lark
    try:
        stored = json.loads(resources.files("specc.grammar").joinpath(TABLES).read_text(encoding="utf-8"),
                            object_hook=_decode)
    except (OSError, ValueError):
        return None
    # The whole text, not a digest: comparing 2 KB costs nothing, importing hashlib a few ms.
    if stored.get("grammar") != grammar_text() or stored.get("lark") != lark.__version__:
        return None
    return lark.Lark._load_from_dict(stored["data"], stored["memo"], postlex=postlex)


def tables(parser) -> dict:
    """What the tables file holds for a built parser."""
    import lark
    data, memo = parser.memo_serialize([lark.lexer.TerminalDef, lark.grammar.Rule])
    data["options"] = {k: v for k, v in data["options"].items() if k != "postlex"}
    return {"grammar": grammar_text(), "lark": lark.__version__,
            "data": _encode(data), "memo": _encode(memo)}


def _encode(value):
    """JSON has neither tuples nor integer keys; Lark's tables use both. Tag them."""
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {"__int_keys__": [[k, _encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(obj: dict):
    if "__int_keys__" in obj:
        return {int(k): v for k, v in obj["__int_keys__"]}
    if "__tuple__" in obj:
        return tuple(obj["__tuple__"])
    return obj


def main() -> int:
    from pathlib import Path
    from .parser import _BracketNewlines
    path = Path(str(resources.files("specc.grammar").joinpath(TABLES)))
    text = json.dumps(tables(build(_BracketNewlines())), separators=(",", ":"), sort_keys=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {path} ({len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
