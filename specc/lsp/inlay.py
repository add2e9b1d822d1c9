"""Inlay hints: the output shape after every layer statement, and its parameter count."""
from __future__ import annotations

from lsprotocol import types as T

from .analysis import Analysis, Statement, fmt_shape


def label(stmt: Statement) -> str | None:
    """`→ [20, 24, 24] · 520 params`; in a block body one shape per use (`| ` between)."""
    if not stmt.uses or stmt.uses[-1].out_shape is None:
        return None
    if stmt.in_block:
        shapes = " | ".join(fmt_shape(u.out_shape) if u.out_shape else "?" for u in stmt.uses)
        params = " | ".join(f"{u.n_params:,}" for u in stmt.uses)
        text = f"→ {shapes}"
        return text + (f" · {params} params" if any(u.n_params for u in stmt.uses) else "")
    text = f"→ {fmt_shape(stmt.uses[-1].out_shape)}"
    if stmt.kind != "residual" and stmt.n_params:
        text += f" · {stmt.n_params:,} params"
    return text


def inlay_hints(analysis: Analysis, first_line: int, last_line: int) -> list[T.InlayHint]:
    out = []
    for stmt in analysis.statements:
        if not first_line <= stmt.end[0] <= last_line:
            continue
        text = label(stmt)
        if text:
            out.append(T.InlayHint(T.Position(*stmt.end), text, kind=T.InlayHintKind.Type, padding_left=True))
    out.sort(key=lambda h: (h.position.line, h.position.character))
    return out
