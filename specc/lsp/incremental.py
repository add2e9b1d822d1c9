"""Re-parse only the pieces of a spec an edit touched, with the compiler's own parser.

A 1,000-layer model is one Lark parse of ~50 ms; an edit changes one line. The text is
cut into pieces: each top-level item, and the model's body into runs of whole statements
(cut where a line's content says so, so an edit moves only the cuts next to it). Each
piece is parsed by `specc.parser.parse`, padded with newlines so its positions are the
file's; a piece whose text was parsed before is reused, its positions moved by the lines
inserted or removed above it. A piece that does not parse, or a layout the cutter does not
know, falls back to parsing the whole text, so every message is exactly `specc check`'s.
tests/lsp/test_incremental.py holds the result equal, positions included, to a full parse.

A piece reused in place keeps its statement objects, which is what the check reuses
(`Incremental`: frontend.check_spec with a Reuse): the whole model when neither it nor a
block changed, else the graph up to the first changed statement and, once the chain is the
same as last time again, the rest of it (specc/passes/graph.py), and each statement's checked
arguments, block substitutions, shapes and parameters (specc/passes/memo.py).
A piece moved by an inserted or deleted line is made of new objects, so its statements are
checked again once. tests/lsp/test_incremental_check.py and test_incremental_graph.py hold
every result equal to a full check over random edit sequences.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import fields, is_dataclass, replace

from .. import syntax as S
from ..errors import SpecError
from ..frontend import Reuse
from ..ir import Pos
from ..parser import parse

_ITEM_HEAD = re.compile(r"\s*(model|block|data|train)\b")
_MODEL_HEAD = re.compile(r"\s*model\s+[A-Za-z_][A-Za-z0-9_]*\s*\{\s*(#.*)?\Z")
_CLOSE = re.compile(r"\s*\}\s*(#.*)?\Z")
_BLANK = re.compile(r"\s*(#.*)?\Z")
MIN_PIECE, MAX_PIECE = 8, 64  # statements' lines per piece of a model body


class Unhandled(Exception):
    """A layout the cutter does not handle: parse the whole text instead."""


def _depths(lines: list[str]) -> list[tuple[int, int]]:
    """(brace depth, bracket depth) at the start of every line, strings and comments skipped."""
    out, braces, brackets = [], 0, 0
    for line in lines:
        out.append((braces, brackets))
        if '"' not in line:
            line = line.split("#", 1)[0]  # no string: a comment runs from the first `#`
        else:
            code, in_string = [], False
            for i, ch in enumerate(line):
                if in_string:
                    in_string = not (ch == '"' and line[i - 1] != "\\")
                elif ch == '"':
                    in_string = True
                elif ch == "#":
                    break
                else:
                    code.append(ch)
            if in_string:
                raise Unhandled("unterminated string")
            line = "".join(code)
        braces += line.count("{") - line.count("}")
        brackets += line.count("(") + line.count("[") - line.count(")") - line.count("]")
        if braces < 0 or brackets < 0:
            raise Unhandled("unbalanced")
    if braces or brackets:
        raise Unhandled("unclosed")
    return out


def _items(lines, depths):
    """(first line, last line) of every top-level item."""
    out, i, n = [], 0, len(lines)
    while i < n:
        if depths[i] == (0, 0) and _BLANK.match(lines[i]):
            i += 1
            continue
        if depths[i] != (0, 0) or not _ITEM_HEAD.match(lines[i]):
            raise Unhandled("not an item")
        j = i + 1
        while j < n and depths[j] != (0, 0):
            j += 1
        last = j - 1
        if last > i and not _CLOSE.match(lines[last]):
            raise Unhandled("item does not end on its own line")
        out.append((i, last))
        i = j
    return out


def _body_pieces(lines, depths, first, last):
    """Runs of whole statements of a model body (lines first..last), cut by their content."""
    pieces, start = [], first
    for i in range(first + 1, last + 1):
        if depths[i] != (1, 0):
            continue  # inside a residual or a wrapped call
        size = i - start
        if size >= MAX_PIECE or (size >= MIN_PIECE and zlib.crc32(lines[i].encode()) % 16 == 0):
            pieces.append((start, i - 1))
            start = i
    pieces.append((start, last))
    return pieces


def shift(node, delta: int):
    """A syntax node with every position (and end line) moved down by `delta` lines."""
    if isinstance(node, Pos):
        return replace(node, line=node.line + delta) if node.line else node
    if isinstance(node, tuple):
        return tuple(shift(x, delta) for x in node)
    if is_dataclass(node):
        changes = {}
        for f in fields(node):
            v = getattr(node, f.name)
            if f.name == "end_line":
                changes[f.name] = v + delta if v else v
            elif isinstance(v, (Pos, tuple)) or is_dataclass(v):
                changes[f.name] = shift(v, delta)
        return replace(node, **changes)
    return node


class IncrementalParser:
    """Parses successive versions of one document, reusing the pieces that did not change."""

    def __init__(self, path: str):
        self.path = path
        self.cache: dict[tuple[str, str], tuple[int, object]] = {}  # (kind, piece text) -> (first line, nodes)
        self.reused = self.parsed = 0  # pieces, for tests and the bench

    def parse(self, text: str) -> S.SpecFile:
        """The syntax tree of `text`; raises SpecError exactly as specc.parser.parse does."""
        try:
            return self._parse_pieces(text)
        except (Unhandled, SpecError):
            self.cache = {}
            return parse(text, self.path)

    def _piece(self, kind: str, lines, first: int, last: int, used: dict):
        body = "\n".join(lines[first:last + 1])
        key = (kind, body)
        if key in self.cache:
            at, nodes = self.cache[key]
            self.reused += 1
            nodes = shift(nodes, first - at) if first != at else nodes
        else:
            self.parsed += 1
            if kind == "item":
                nodes = parse("\n" * first + body, self.path).items
            else:  # statements: parsed inside a stand-in model whose header is the line above
                nodes = parse("\n" * (first - 1) + "model piece {\n" + body + "\n}", self.path).items[0].body
        used[key] = (first, nodes)
        return nodes

    def _parse_pieces(self, text: str) -> S.SpecFile:
        lines = [l.rstrip("\r") for l in text.split("\n")]
        if "\ufeff" in text or "\r" in text.replace("\r\n", ""):
            raise Unhandled("BOM or bare carriage return")
        depths = _depths(lines)
        used: dict = {}
        items = []
        for first, last in _items(lines, depths):
            if last > first and _MODEL_HEAD.match(lines[first]):
                body = ()
                if last > first + 1:
                    for a, b in _body_pieces(lines, depths, first + 1, last - 1):
                        body += self._piece("body", lines, a, b, used)
                name = lines[first].split("model", 1)[1].split("{")[0].strip()
                column = lines[first].index("model") + 1
                items.append(S.ModelDecl(name, body, Pos(self.path, first + 1, column), last + 1))
            else:
                items.extend(self._piece("item", lines, first, last, used))
        self.cache = used  # only what this version uses: memory stays flat over edits
        return S.SpecFile(tuple(items), self.path, text)


class Incremental:
    """One open document's caches: its parser (reuses the pieces of text that did not change)
    and the front end's Reuse (the model when neither it nor a block changed, each statement's
    checked arguments when the parser handed back the same statement)."""

    def __init__(self, path: str):
        self.parser = IncrementalParser(path)
        self.reuse = Reuse()
