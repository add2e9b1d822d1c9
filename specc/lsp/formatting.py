"""Formatting through `specc fmt`: one edit replacing the document, or a refusal."""
from __future__ import annotations

from lsprotocol import types as T

from ..errors import SpecError, SpecErrors
from .analysis import format_text


def format_document(text: str, path: str) -> tuple[list[T.TextEdit], str | None]:
    """(edits, refusal message). fmt refuses a spec that does not check or would lose a comment."""
    try:
        new = format_text(text, path)
    except (SpecError, SpecErrors) as e:
        first = e.errors[0] if isinstance(e, SpecErrors) else e
        return [], f"specc fmt: not formatted: {first.message}"
    if new == text:
        return [], None
    lines = text.split("\n")
    end = T.Position(len(lines) - 1, len(lines[-1]))
    return [T.TextEdit(T.Range(T.Position(0, 0), end), new)], None
