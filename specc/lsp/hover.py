"""Hover: the op's signature and documentation line, and what this use of it became."""
from __future__ import annotations

import re

from lsprotocol import types as T

from .analysis import Analysis, OpDoc, Statement, Use, fmt_shape, key_values, op_doc
from .convert import lsp_range

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")


def _signature(doc: OpDoc) -> str:
    text = f"```\n{doc.signature}\n```"
    return text + (f"\n\n{doc.doc}" if doc.doc else "")


def _shape(shape) -> str:
    return fmt_shape(shape) if shape is not None else "?"


def _use_lines(use: Use) -> list[str]:
    into = ", ".join(f"`{n}` {_shape(s)}" for n, s in zip(use.inputs, use.in_shapes)) if len(use.inputs) > 1 \
        else _shape(use.in_shape)
    head = f"`{use.name}` ({use.op}): {into} → {_shape(use.out_shape)}"
    if use.n_params:
        head += f" · {use.n_params:,} parameters"
    out = [head]
    for name, shape, init, trainable in use.params:
        out.append(f"- `{name}` {fmt_shape(shape)} init {init}" + ("" if trainable else " (buffer)"))
    return out


def _statement_hover(analysis: Analysis, stmt: Statement) -> str:
    if stmt.kind == "input":
        return f"```\ninput\n```\n\nshape {_shape(stmt.shape)} (without the batch dimension)"
    doc = op_doc(stmt.op) or analysis.blocks.get(stmt.op)
    parts = [_signature(doc)] if doc else []
    if stmt.in_block:
        parts.append(f"in block `{stmt.in_block}`, once per use:")
    elif stmt.kind == "block":
        parts.append(f"block `{stmt.op}` here makes {len(stmt.uses)} layers:")
    if stmt.kind == "residual" and stmt.uses:
        u = stmt.uses[0]
        parts.append(f"`{u.name}`: {_shape(u.in_shape)} → {_shape(u.out_shape)} · {u.n_params:,} parameters in its body")
    else:
        for use in stmt.uses:
            parts.append("\n".join(_use_lines(use)))
    return "\n\n".join(parts)


def _section_at(analysis: Analysis, line: int) -> str | None:
    for s in analysis.symbols:
        if s.kind == "section" and s.first_line <= line <= s.last_line:
            return s.name
    return None


def _value_hover(analysis: Analysis, line: int, column: int) -> tuple[str, T.Range] | None:
    """A loss, optimizer, schedule, metric or source name in `data`/`train`."""
    kind = _section_at(analysis, line)
    text = analysis.lines[line] if line < len(analysis.lines) else ""
    key = _KEY.match(text)
    if not kind or not key:
        return None
    for m in _WORD.finditer(text):
        if m.start() <= column <= m.end() and m.start() > key.end(1):
            for doc in key_values(kind, key.group(1)):
                if doc.name == m.group():
                    rng = T.Range(T.Position(line, m.start()), T.Position(line, m.end()))
                    return _signature(doc), rng
    return None


def _value_text(analysis: Analysis, name: str) -> str:
    """A named value: the layer that makes it (or the input) and its shape."""
    for stmt in analysis.statements:
        if stmt.kind == "input" and any(o.key == f"value:{name}" and o.is_definition and o.span.line == stmt.span.line
                                        for o in analysis.occurrences):
            return f"named value `{name}`: the input, {_shape(stmt.shape)}"
        for use in stmt.uses:
            if use.name == name and not stmt.in_block:
                return f"named value `{name}`: the output of {_use_lines(use)[0]}"
    return f"named value `{name}`"


def hover(analysis: Analysis, line: int, column: int) -> T.Hover | None:
    stmt = analysis.statement_at(line, column)
    if stmt is not None:
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, _statement_hover(analysis, stmt)), lsp_range(stmt.span))
    occ = analysis.occurrence_at(line, column)
    if occ is not None:
        kind, _, name = occ.key.partition(":")
        if kind == "block":
            text = _signature(analysis.blocks[name])
        elif kind == "value":
            text = _value_text(analysis, name)
        else:
            block, _, param = name.partition(":")
            text = f"parameter `{param}` of block `{block}`"
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, text), lsp_range(occ.span))
    found = _value_hover(analysis, line, column)
    if found:
        return T.Hover(T.MarkupContent(T.MarkupKind.Markdown, found[0]), found[1])
    return None
