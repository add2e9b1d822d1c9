"""The `specc` command line: builds the parser from specc.commands and maps errors to exit codes.

Exit codes: 0 ok, 1 a check failed (e.g. `fmt --check`, `verify` past tolerance),
2 bad input (spec, data, flags), 130 interrupted.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .commands import COMMANDS
from .commands._common import show_overrides
from .errors import SpecError, SpecErrors


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI; with `only`, just that subcommand (the one being run: the others' modules are not
    imported, which is a quarter of `specc check`'s start-up when specc runs from source)."""
    parser = argparse.ArgumentParser(prog="specc", description="Check, train and export neural-network specs (.nn files).")
    parser.add_argument("--version", action="version", version=f"specc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in [only] if only in COMMANDS else COMMANDS:
        try:
            module = importlib.import_module(f"specc.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"specc.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # The first word that is not an option names the command (the top level's options take no value);
    # anything else (no command, --help, a typo) gets the whole parser, to list or suggest commands.
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command) if command in COMMANDS else build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (SpecError, SpecErrors) as e:
        show_overrides(e, getattr(args, "set", None))
        print(e.render(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `specc predict m.onnx x.npz | head -3`: the reader has all it wanted
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
