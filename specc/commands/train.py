"""`specc train FILE`: train a spec, write a run directory, print a short summary.

Exit codes: 0 done, 2 bad spec/data/flags (or a resume with a different spec),
3 the loss became NaN/inf, 130 interrupted (after writing a checkpoint).

SIGINT/SIGTERM are caught from the moment the command starts, not only while
the training loop runs: a signal that arrives while the spec or the data is
still loading stops the run at step 0 with a checkpoint and the resume
command, and one that arrives after training finished is ignored (everything
is already saved), so the exit code is always 0, 2, 3 or 130.

`--out DIR` never silently overwrites a previous run: if DIR already holds one
(manifest, checkpoint or weights), training refuses and suggests `--resume DIR`
or a new `--out`; `--force` deletes that run's files and starts over.
"""
from __future__ import annotations

import shlex
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a spec and write a run directory",
                              description="Train the model of a .nn spec. Writes weights, metrics, curves and a "
                                          "checkpoint to a run directory (default runs/<model>-<timestamp>).")
    p.add_argument("file", metavar="FILE", help="the .nn spec")
    p.add_argument("--backend", choices=["numpy", "torch"], default=None,
                   help="numpy (reference, default) or torch")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<model>-<YYYYmmdd-HHMMSS>)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its checkpoint")
    p.add_argument("--force", action="store_true",
                   help="let --out replace a previous run in DIR (its files are deleted first)")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="override a data/train setting, e.g. --set train.epochs=5 (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-plot", action="store_true",
                   help="do not draw curves.png (by default it is drawn after the result is printed, in the "
                        "background)")
    p.add_argument("--device", help="backend device, e.g. cpu, cuda, cuda:1 (torch)")
    p.add_argument("--amp", nargs="?", const=True, default=None, choices=["bf16", "fp16"],
                   help="mixed precision (torch on CUDA); bf16 or fp16, default the backend's choice")
    p.add_argument("--compile", action="store_true", default=None, help="torch.compile the model (torch)")
    p.add_argument("--fast-math", action="store_true", default=None,
                   help="CUDA: allow TF32 and non-deterministic kernels for speed (torch; recorded in the manifest)")
    p.add_argument("--prefetch", choices=["on", "off"],
                   help="streamed data (npy()): read the next batches in a background thread; default on CUDA, "
                        "and tried on a CPU when the math threads leave a core (kept if the steps are faster)")
    p.add_argument("--dtype", choices=["float32", "float64"],
                   help="compute precision on both backends (same as --set train.dtype=...); float64 runs of "
                        "NumPy and torch follow the same trajectory")
    p.set_defaults(func=run)


def backend_options(args) -> dict:
    """Pass-through options for the backend; unset flags are left out."""
    prefetch = None if args.prefetch is None else args.prefetch == "on"
    given = (("device", args.device), ("amp", args.amp), ("compile", args.compile), ("fast_math", args.fast_math),
             ("prefetch", prefetch))
    return {k: v for k, v in given if v is not None}


def _refuse_torch_flags(args) -> None:
    """--amp/--compile/--device/--fast-math mean nothing to the NumPy backend: an error, not a silent no-op."""
    from ..errors import SpecError

    numpy = args.backend == "numpy" or (args.backend is None and args.resume is None)
    flags = [f for f, v in (("--device", args.device), ("--amp", args.amp), ("--compile", args.compile),
                            ("--fast-math", args.fast_math)) if v]
    if numpy and flags:
        raise SpecError(f"{', '.join(flags)} only apply to the torch backend; this run uses numpy",
                        hint="add --backend torch, or drop " + ", ".join(flags))


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def run(args) -> int:
    from ..stopsignals import StopSignals

    with StopSignals() as signals:  # held from the start: a signal while the data loads stops at step 0
        return _run(args, signals)


def _run(args, signals) -> int:
    from ..ranks import is_main_process  # from torchrun's environment; no torch import
    from ..driver import Interrupted, NonFiniteLoss, Trainer
    from ..frontend import compile_file

    if getattr(args, "dtype", None):
        args.set = [*args.set, f"train.dtype={args.dtype}"]  # one path: the spec hash and spec.nn record it
    program = compile_file(args.file, overrides=tuple(args.set))
    _refuse_torch_flags(args)
    try:
        trainer = Trainer(program, backend=args.backend, out=args.out, resume=args.resume, quiet=args.quiet,
                          options=backend_options(args), overrides=args.set, spec_path=args.file,
                          force=getattr(args, "force", False),
                          plot="off" if getattr(args, "no_plot", False) else "later", signals=signals)
        result = trainer.run()  # a signal after this changes nothing: everything is saved
    except NonFiniteLoss as e:
        print(e.render(), file=sys.stderr)
        return NonFiniteLoss.exit_code
    except Interrupted as e:
        words = ["specc", "train", args.file, *[w for s in args.set for w in ("--set", s)], "--resume", str(e.run_dir)]
        if is_main_process():
            print(f"interrupted at step {e.step}; resume with: {' '.join(shlex.quote(w) for w in words)}",
                  file=sys.stderr)
        return Interrupted.exit_code
    if not is_main_process():  # under torchrun, rank 0 reports
        return 0

    lines = [f"trained {program.model.name}: {result.steps} steps, {result.epochs} epochs"
             + (" (stopped early)" if result.stopped_early else "")]
    if result.best_val_loss is not None:
        lines.append(f"  best val loss   {_fmt(result.best_val_loss)}")
    if result.best_epoch is not None:
        monitor = program.train.early_stop.monitor
        lines.append(f"  kept weights    epoch {result.best_epoch} ({monitor} {_fmt(result.best_value)})")
    if result.history:
        last = result.history[-1]
        for split in ("val", "train"):  # train_<metric> is logged when there is no val split
            extra = [f"{k} {_fmt(v)}" for k, v in last.items() if k.startswith(split + "_") and k != split + "_loss"]
            if extra:
                lines.append(f"  last {split:<11}" + ", ".join(extra))
                break
    if result.test is not None:
        lines.append("  test            " + ", ".join(f"{k} {_fmt(v)}" for k, v in result.test.items()))
    lines.append(f"  run directory   {result.run_dir}")
    print("\n".join(lines), flush=True)
    if not getattr(args, "no_plot", False) and result.history:
        from ..curves import draw_later

        draw_later(result.run_dir)  # the weights and logs are safe; the picture follows in the background
    return 0
