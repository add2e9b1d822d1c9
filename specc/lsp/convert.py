"""Small conversions between analysis data and LSP types, shared by the features."""
from __future__ import annotations

from lsprotocol import types as T

from .analysis import Span


def lsp_range(span: Span) -> T.Range:
    return T.Range(T.Position(span.line, span.start), T.Position(span.line, span.end))


def full_lines(first: int, last: int, lines: list[str]) -> T.Range:
    last = min(last, max(len(lines) - 1, 0))
    return T.Range(T.Position(first, 0), T.Position(last, len(lines[last]) if lines else 0))
