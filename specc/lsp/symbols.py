"""Document symbols: the outline (model with its layers, blocks, data and train keys)."""
from __future__ import annotations

from lsprotocol import types as T

from .analysis import Analysis, Symbol
from .convert import full_lines, lsp_range

_KIND = {"model": T.SymbolKind.Class, "block": T.SymbolKind.Function, "section": T.SymbolKind.Namespace,
         "input": T.SymbolKind.Variable, "layer": T.SymbolKind.Field, "residual": T.SymbolKind.Struct,
         "key": T.SymbolKind.Property, "output": T.SymbolKind.Interface}


def _symbol(s: Symbol, lines) -> T.DocumentSymbol:
    rng = full_lines(s.first_line, s.last_line, lines)
    selection = lsp_range(s.selection)
    if not (rng.start.line <= selection.start.line <= rng.end.line):
        rng = selection
    return T.DocumentSymbol(s.name, _KIND[s.kind], rng, selection, detail=s.detail or None,
                            children=[_symbol(c, lines) for c in s.children])


def document_symbols(analysis: Analysis) -> list[T.DocumentSymbol]:
    return [_symbol(s, analysis.lines) for s in analysis.symbols]
