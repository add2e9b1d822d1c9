"""`specc fmt FILE... [--check]`: rewrite specs in canonical layout (comments kept)."""
from __future__ import annotations

import sys

from ..errors import SpecError, SpecErrors


def register(sub) -> None:
    p = sub.add_parser("fmt", help="format specs in canonical layout; --check only reports")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--check", action="store_true", help="exit 1 if a file is not formatted; write nothing")
    p.set_defaults(func=run)


def format_file(path: str) -> tuple[str, str]:
    """(original text, formatted text); the formatted text is checked to mean the same."""
    from ..frontend import read_spec

    text = read_spec(path)
    return text, format_spec_text(text, path)


def format_spec_text(text: str, path: str) -> str:
    """The formatted text (also used by `specc lsp`); raises where fmt refuses."""
    from ..frontend import build_program
    from ..parser import parse
    from ..printer import format_syntax

    spec = parse(text, path)
    new = format_syntax(spec)
    again = parse(new, path)
    same_comments = [c.text for c in again.comments] == [c.text for c in spec.comments]
    if again.items != spec.items or not same_comments:  # never rewrite a file into something else
        raise SpecError(f"{path}: internal error: formatting would change the spec; file left as is")
    build_program(spec)  # a file that does not check is reported, not rewritten
    return new


def run(args) -> int:
    status = 0
    for path in args.files:
        try:
            old, new = format_file(path)
        except (SpecError, SpecErrors) as e:
            print(e.render(), file=sys.stderr)
            status = 2
            continue
        if old == new:
            continue
        if args.check:
            print(f"would reformat {path}")
            status = max(status, 1)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
            print(f"reformatted {path}")
    return status
