"""What the language server's features read from an analysis, for tests comparing incremental and full checks."""


def everything(analysis):
    """All a feature can read: problems, block signatures, shapes and params per statement, names, outline."""
    return (analysis.parsed, analysis.problems, analysis.blocks, analysis.statements, analysis.occurrences,
            analysis.symbols)
