"""`specc report RUN [-o report.html]`: one self-contained HTML page about a run (see specc/report.py)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write a self-contained HTML report of a run",
                              description="Write one HTML file about a run: learning curves, final and test "
                                          "metrics, the confusion matrix of a classifier on the test split, the "
                                          "compute graph, the spec with line numbers and the environment. It "
                                          "loads nothing from the network.")
    p.add_argument("run", metavar="RUN", help="a run directory")
    p.add_argument("-o", "--output", metavar="HTML", help="where to write it (default RUN/report.html)")
    p.add_argument("--no-graphviz", action="store_true",
                   help="draw the graph with specc's own SVG even when Graphviz is installed")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ..report import write_report

    out = args.output or str(Path(args.run) / "report.html")
    path = write_report(args.run, out, use_graphviz=not args.no_graphviz)
    print(f"wrote {path}")
    return 0
