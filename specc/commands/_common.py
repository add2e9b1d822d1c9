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
