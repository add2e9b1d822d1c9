"""`specc lsp`: the language server for editors (stdio), in the optional `lsp` extra."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("lsp", help="language server for editors (stdio): diagnostics, shapes, hover, completion")
    p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default; editors pass it)")
    p.add_argument("--full-check", action="store_true",
                   help="re-check the whole text on every edit instead of only what the edit can change "
                        "(slower; bench/lsp_latency.py compares the two)")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        from ..lsp.server import main
    except ModuleNotFoundError as e:
        if e.name in ("pygls", "lsprotocol") or (e.name or "").startswith(("pygls.", "lsprotocol.")):
            print(f"specc lsp needs {e.name.split('.')[0]}: pip install 'specc[lsp]'", file=sys.stderr)
            return 2
        raise
    main(incremental=not args.full_check)
    return 0
