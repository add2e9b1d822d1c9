"""`specc eval FILE --weights DIR`: loss and metrics of a trained run on one split.

Inputs are prepared with the preprocessing statistics saved in the run
(preprocess.npz), not with freshly recomputed ones; see evaluation.evaluate_run.
A progress bar counts the samples evaluated (not with --quiet, nor when stderr
is not a terminal).
"""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("eval", help="evaluate trained weights on a data split",
                              description="Compute the loss and the spec's metrics of a run's weights on a split.")
    p.add_argument("file", metavar="FILE", help="the .nn spec")
    p.add_argument("--weights", metavar="DIR", required=True, help="a run directory (from `specc train`)")
    p.add_argument("--split", choices=["test", "val", "train"], default="test", help="which split (default test)")
    p.add_argument("--backend", choices=["numpy", "torch"], default="numpy", help="numpy (default) or torch")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="override a data/train setting, as for train")
    p.add_argument("--device", help="backend device (torch)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..evaluation import evaluate_run
    from ..frontend import compile_file

    program = compile_file(args.file, overrides=tuple(args.set))
    options = {"device": args.device} if args.device else {}
    from ..progress import Progress

    def progress(total):
        return Progress(total, desc=f"eval {args.split}", unit="sample", quiet=args.quiet)

    row, matrix, classes = evaluate_run(program, args.weights, split=args.split, backend=args.backend,
                                        options=options, confusion=True, progress=progress)
    width = max(len(k) for k in row)
    print(f"{args.split} split ({args.weights}):")
    for k, v in row.items():
        print(f"  {k:<{width}}  {v:.6g}")
    if matrix is not None:  # classifiers: rows are true classes, columns predicted ones
        from ..confusion import render

        print("confusion matrix:")
        print("\n".join("  " + line for line in render(matrix, classes).splitlines()))
    return 0
