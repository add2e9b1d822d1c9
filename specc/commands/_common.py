"""Small helpers shared by the subcommands."""
from __future__ import annotations


def add_set_option(parser) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a data/train key, e.g. --set train.epochs=5 "
                             "--set 'train.optimizer=adam(lr=1e-3)'")


def compile_spec(args):
    """The Program for args.file with its --set overrides applied."""
    from ..frontend import compile_file

    return compile_file(args.file, overrides=getattr(args, "set", []) or [])
