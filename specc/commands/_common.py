"""Small helpers shared by the subcommands."""
from __future__ import annotations


def add_set_option(parser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a data/train key, e.g. --set train.epochs=5 "
                             "--set 'train.optimizer=adam(lr=1e-3)'")


def compile_spec(args):
    """The Program for args.file with its --set overrides applied; its warnings go to stderr."""
    from ..frontend import compile_file

    program = compile_file(args.file, overrides=getattr(args, "set", []) or [])
    print_warnings(program)
    return program


def print_warnings(program) -> None:
    import sys

    for w in program.warnings:
        print(w.render(), file=sys.stderr)


def show_overrides(error, overrides) -> None:
    """Errors positioned in a --set value (e.g. its data source) show that override, not a spec line."""
    if not overrides:
        return
    text = "\n".join(o for o in overrides if isinstance(o, str))
    for e in getattr(error, "errors", [error]):
        if e.pos is not None and e.pos.file == "--set":
            e.source = text
