"""Diagnostics: every error and warning of a check, with its range; hints as related information."""
from __future__ import annotations

from lsprotocol import types as T

from .analysis import Analysis
from .convert import lsp_range

_SEVERITY = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning}


def diagnostics(analysis: Analysis, uri: str, related_information: bool = True) -> list[T.Diagnostic]:
    """LSP diagnostics for one analysed document.

    A client that cannot show related information gets the hint in the message.
    """
    out = []
    for p in analysis.problems:
        rng = lsp_range(p.span)
        message, related = p.message, None
        if p.hint and related_information:
            related = [T.DiagnosticRelatedInformation(T.Location(uri, rng), f"hint: {p.hint}")]
        elif p.hint:
            message = f"{message}\nhint: {p.hint}"
        out.append(T.Diagnostic(rng, message, severity=_SEVERITY[p.severity], source="specc",
                                related_information=related))
    return out
