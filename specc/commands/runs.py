"""`specc runs [DIR]`: a table of the training runs under DIR (default runs/).

One row per run directory, found by its manifest.json at any depth (a sweep's
trials are listed too): name, spec, backend, when, steps, status, the run's main
metric (best over the epochs and final), and the test result. `--json` prints
every value instead, for scripts.
"""
from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("runs", help="list training runs with their status and metrics",
                              description="List the run directories under DIR (default runs): spec, backend, when, "
                                          "steps, status (finished, pruned, diverged, interrupted, running, "
                                          "unfinished), best and final metric, test result.")
    p.add_argument("dir", metavar="DIR", nargs="?", default="runs", help="folder holding run directories")
    p.add_argument("--sort", metavar="KEY", default="when",
                   help="name, when (default), status, steps, a metric such as val_accuracy (best first), "
                        "best:<metric> or test:<metric>; a leading - reverses (--sort=-when)")
    p.add_argument("--json", action="store_true", help="print the runs as a JSON list")
    p.set_defaults(func=run)


def _num(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _when(created: str) -> str:
    return created[:16].replace("T", " ")  # 2026-12-01T18:07:15+0000 -> 2026-12-01 18:07


def table(runs) -> str:
    """The runs as aligned text columns."""
    head = ["name", "spec", "backend", "when", "steps", "status", "metric", "best", "final", "test"]
    rows = []
    for r in runs:
        metric = r.primary
        test = ", ".join(f"{k} {_num(v)}" for k, v in r.test.items()) or "-"
        spec = r.spec_file.rsplit("/", 1)[-1] or "-"
        rows.append([r.name, spec, r.backend, _when(r.created), str(r.steps), r.status, metric or "-",
                     _num(r.best.get(metric)), _num(r.final.get(metric)), test])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *rows]]
    return "\n".join(lines)


def run(args) -> int:
    from ..runinfo import find_runs, sort_runs

    runs = sort_runs(find_runs(args.dir), args.sort)
    if args.json:
        print(json.dumps([r.as_dict() for r in runs], indent=2))
    elif not runs:
        print(f"no runs under {args.dir}")
    else:
        print(table(runs))
    return 0
