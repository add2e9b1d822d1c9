"""`specc check FILE...`: parse and statically check specs; `--data` also loads the data."""
from __future__ import annotations

import math
import sys

from ..errors import SpecError, SpecErrors
from ._common import add_set_option, show_overrides


def register(sub) -> None:
    p = sub.add_parser("check", help="parse and check specs (shapes, keys, values); exit 2 on errors")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--data", action="store_true", help="also load the data and check it against the model")
    add_set_option(p)
    p.set_defaults(func=run)


def _exportability(program) -> list:
    """Ops the ONNX exporter cannot express, known before anyone trains."""
    try:
        from ..backends.onnx.support import unexportable
    except ImportError:
        return []
    return unexportable(program)


def check_one(path: str, overrides, with_data: bool) -> str:
    from ..frontend import compile_file

    from ._common import print_warnings

    program = compile_file(path, overrides=overrides)
    print_warnings(program)
    problems = _exportability(program)
    if with_data:
        from ..data import check_data

        problems += check_data(program)
    if problems:
        for p in problems:
            if p.source is None:
                p.source = program.source_text
        raise SpecErrors(problems)
    n_params = sum(math.prod(p.shape) for _, _, p in program.all_params() if p.trainable)
    from ..limits import model_memory_lines

    memory = model_memory_lines(program, program.train.batch if program.train else None)
    return "\n".join([f"ok: {path} (model {program.model.name}: {len(program.model.layers)} layers, "
                       f"{n_params:,} parameters)", *(f"  {line}" for line in memory)])


def run(args) -> int:
    status = 0
    for path in args.files:
        try:
            print(check_one(path, args.set, args.data))
        except (SpecError, SpecErrors) as e:
            show_overrides(e, args.set)
            print(e.render(), file=sys.stderr)
            status = 2
    return status
