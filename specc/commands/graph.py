"""`specc graph FILE [-o OUT]`: the model's compute graph with shapes on the edges.

DOT text is always available (written by specc.graph from the IR); `.svg`,
`.png` and `.pdf` need the Graphviz `dot` program. Exit codes: 0 written,
2 bad spec, unknown extension, or Graphviz missing/failing.
"""
from __future__ import annotations

import sys

from ._common import add_set_option, compile_spec


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "graph", help="draw the compute graph (DOT; SVG/PNG with Graphviz)",
        description="Write the model's compute graph: one node per layer (op, attributes, parameter shapes), "
                    "tensor shapes on the edges, residual blocks as clusters with their skip edge. "
                    "Without -o the DOT text goes to standard output.")
    p.add_argument("file", metavar="FILE", help="the .nn spec")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output file; the extension picks the format: .dot/.gv (text), .svg, .png, .pdf (Graphviz)")
    add_set_option(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..graph import GraphvizMissing, output_format, render, to_dot

    program = compile_spec(args)
    dot_text = to_dot(program)
    if not args.output:
        sys.stdout.write(dot_text)
        return 0
    try:
        fmt = output_format(args.output)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from ..files import output_file

    output_file(args.output, "graph file")
    if fmt == "dot":
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(dot_text)
        print(f"wrote {args.output}")
        return 0
    try:
        render(dot_text, args.output, fmt)
    except GraphvizMissing:
        stem = args.output.rsplit(".", 1)[0]
        print(f"error: writing .{fmt} needs Graphviz' `dot` program, which is not installed\n"
              f"  hint: write DOT text instead (`specc graph {args.file} -o {stem}.dot`) and render it elsewhere, "
              f"or install Graphviz (apt install graphviz, brew install graphviz, conda install graphviz)",
              file=sys.stderr)
        return 2
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0
