"""`specc compare RUN RUN...`: how runs differ, in spec and in results.

Prints a unified diff of each run's normalized spec (spec.nn) against the
first run's, then a table of final metrics (last epoch, and test) with one
column per run, and writes one PNG with all their learning curves overlaid.
"""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("compare", help="diff the specs and metrics of runs, overlay their curves",
                              description="Show the spec differences of two or more runs (a diff of their "
                                          "normalized spec.nn), their final metrics side by side, and write "
                                          "one PNG with their learning curves overlaid.")
    p.add_argument("runs", metavar="RUN", nargs="+", help="run directories (two or more)")
    p.add_argument("--plot", metavar="PNG", default="compare.png", help="where to write the curves "
                   "(default compare.png; --plot '' for none)")
    p.set_defaults(func=run)


def spec_diff(first, other) -> str:
    """A unified diff of two runs' spec.nn ('' when they are the same)."""
    from .. import rundir

    a, b = Path(first) / rundir.SPEC, Path(other) / rundir.SPEC
    import difflib  # only `specc compare` pays for it, not every CLI call
    lines = difflib.unified_diff(_read(a).splitlines(keepends=True), _read(b).splitlines(keepends=True),
                                 fromfile=str(a), tofile=str(b))
    return "".join(lines)


def _read(path: Path) -> str:
    from ..errors import SpecError
    from ..ir import Pos

    if not path.exists():
        raise SpecError(f"{path.parent} has no {path.name}; is it a specc run directory?", Pos(file=str(path)))
    return path.read_text(encoding="utf-8")


def metrics_table(runs) -> str:
    """Rows: final per-epoch metrics then test metrics; one column per run."""
    keys: list[str] = []
    for r in runs:
        keys += [k for k in r.final if k not in keys]
    test_keys: list[str] = []
    for r in runs:
        test_keys += [k for k in r.test if k not in test_keys]
    head = ["", *[r.name for r in runs]]
    rows = [["status", *[r.status for r in runs]], ["steps", *[str(r.steps) for r in runs]]]
    rows += [[k, *[_num(r.final.get(k)) for r in runs]] for k in keys]
    rows += [[f"test {k}", *[_num(r.test.get(k)) for r in runs]] for k in test_keys]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *rows])


def _num(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def run(args) -> int:
    from ..errors import SpecError
    from ..runinfo import read_history, read_run

    if len(args.runs) < 2:
        raise SpecError("compare needs at least two run directories", hint="specc compare runs/a runs/b")
    runs = []
    for path in args.runs:
        if not Path(path).is_dir():
            from ..ir import Pos

            raise SpecError(f"run directory {path} does not exist", Pos(file=path))
        runs.append(read_run(path))
    for r in runs:
        r.name = r.path
    out = []
    for other in args.runs[1:]:
        diff = spec_diff(args.runs[0], other)
        out.append(diff.rstrip("\n") if diff else f"spec: {other} is the same as {args.runs[0]}")
    out.append("")
    out.append(metrics_table(runs))
    if args.plot:
        from ..overlay import write_overlay

        write_overlay(args.plot, [(r.path, read_history(r.path)) for r in runs])
        out.append(f"\ncurves: {args.plot}")
    print("\n".join(out))
    return 0
