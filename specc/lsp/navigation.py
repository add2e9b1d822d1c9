"""Go to definition, find references and rename, for blocks, named values and block parameters."""
from __future__ import annotations

from lsprotocol import types as T
from pygls.exceptions import JsonRpcException

from .analysis import NAME_RE, Analysis, op_doc
from .convert import lsp_range

KEYWORDS = frozenset({"model", "block", "data", "train", "input", "residual", "true", "false"})


def definition(analysis: Analysis, uri: str, line: int, column: int) -> list[T.Location]:
    occ = analysis.occurrence_at(line, column)
    if occ is None:
        return []
    return [T.Location(uri, lsp_range(o.span)) for o in analysis.occurrences_of(occ.key) if o.is_definition]


def references(analysis: Analysis, uri: str, line: int, column: int, include_declaration: bool) -> list[T.Location]:
    occ = analysis.occurrence_at(line, column)
    if occ is None:
        return []
    return [T.Location(uri, lsp_range(o.span)) for o in analysis.occurrences_of(occ.key)
            if include_declaration or not o.is_definition]


def prepare_rename(analysis: Analysis, line: int, column: int) -> T.Range | None:
    occ = analysis.occurrence_at(line, column)
    return lsp_range(occ.span) if occ else None


class RenameRefused(JsonRpcException):
    """The new name is not allowed; the client shows the message (LSP error RequestFailed)."""

    CODE = -32803


def rename(analysis: Analysis, uri: str, line: int, column: int, new_name: str) -> T.WorkspaceEdit | None:
    occ = analysis.occurrence_at(line, column)
    if occ is None:
        return None
    kind = occ.key.split(":")[0]
    if not NAME_RE.match(new_name) or new_name in KEYWORDS:
        raise RenameRefused(f"`{new_name}` is not a name (letters, digits and `_`, not a keyword)")
    if kind == "block" and op_doc(new_name) is not None:
        raise RenameRefused(f"`{new_name}` is a built-in layer")
    new_key = occ.key.rsplit(":", 1)[0] + ":" + new_name
    if new_key != occ.key and analysis.occurrences_of(new_key):
        raise RenameRefused(f"`{new_name}` is already defined")
    edits = [T.TextEdit(lsp_range(o.span), new_name) for o in analysis.occurrences_of(occ.key)]
    return T.WorkspaceEdit(changes={uri: edits})
