"""`specc schedule FILE`: the learning rate of every optimizer step, as a table or a plot.

Steps are counted from 1 and epochs from 1, as in metrics.csv (step 1 is the
first update; it uses lr_at(step=0)). Long tables show the first and last steps
and evenly spaced steps between them; `--all` shows every step.
The number of steps per epoch needs the size of the training split: it comes
from the data block (the data is loaded), or from `--n-train N`.
"""
from __future__ import annotations


from ..errors import SpecError
from ._common import add_set_option, compile_spec

HEAD = TAIL = 5  # rows kept at each end of an elided table
MIDDLE = 15      # evenly spaced rows between them
SHOW_ALL_UP_TO = 60  # shorter tables are never elided
MAX_CHANGES = 40     # piecewise-constant schedules: show every step where the lr changes, if this few


def register(sub) -> None:
    p = sub.add_parser("schedule", help="print (or plot) the learning rate of every training step",
                       description="Show the learning rate the spec's schedule gives every optimizer step.")
    p.add_argument("file", metavar="FILE", help="the .nn spec")
    p.add_argument("--plot", metavar="FILE", help="write a PNG plot of lr against step instead of the table")
    p.add_argument("--all", action="store_true", help="show every step (default: elide the middle of long tables)")
    p.add_argument("--n-train", type=int, metavar="N",
                   help="number of training examples (default: load the data to count them)")
    add_set_option(p)
    p.set_defaults(func=run)


def _value(v) -> str:
    """A value as the .nn language writes it (true/false, [a, b], 0.001)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if hasattr(v, "args") and hasattr(v, "name"):  # a nested schedule (warmup's `then`)
        return describe(v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def describe(spec) -> str:
    """`cosine(min_lr=0, per=step)` for a Spec."""
    return f"{spec.name}(" + ", ".join(f"{k}={_value(v)}" for k, v in spec.args.items() if v is not None) + ")"


def rows_to_show(lrs, show_all: bool) -> list[int]:
    """0-based step indices for the table: all, or head + middle + tail.

    The middle is every step where the lr changes when there are few such steps
    (step, piecewise and per-epoch schedules), else evenly spaced steps.
    """
    n = len(lrs)
    if show_all or n <= SHOW_ALL_UP_TO:
        return list(range(n))
    import numpy as np

    changes = (np.flatnonzero(lrs[1:] != lrs[:-1]) + 1).tolist()
    if len(changes) <= MAX_CHANGES:
        middle = changes
    else:
        middle = np.linspace(HEAD, n - TAIL - 1, MIDDLE).round().astype(int).tolist()
    return sorted(set(range(HEAD)) | set(middle) | set(range(n - TAIL, n)))


def format_table(lrs, steps_per_epoch: int, show_all: bool = False) -> str:
    n = len(lrs)
    lines = [f"{'epoch':>6}  {'step':>8}  lr", f"{'-' * 6}  {'-' * 8}  {'-' * 12}"]
    prev = -1
    rows = rows_to_show(lrs, show_all)
    for i in rows:
        if i != prev + 1:
            lines.append(f"{'...':>6}  {'...':>8}  ({i - prev - 1} steps)")
        lines.append(f"{i // steps_per_epoch + 1:>6}  {i + 1:>8}  {lrs[i]:.6g}")
        prev = i
    if len(rows) < n:
        lines.append(f"({n - len(rows)} of {n} steps not shown; --all shows every step)")
    return "\n".join(lines)


def count_train(program, args) -> int:
    if args.n_train is not None:
        if args.n_train < 1:
            raise SpecError(f"--n-train must be at least 1, not {args.n_train}")
        return args.n_train
    if program.data is None:
        raise SpecError("the spec has no data block, so the number of steps per epoch is unknown",
                        hint="add a data block, or pass --n-train N")
    from ..data import load_data

    return int(load_data(program).train.x.shape[0])


def plot(lrs, steps_per_epoch: int, title: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    import numpy as np

    steps = np.arange(1, len(lrs) + 1)
    ax.plot(steps, lrs, lw=1.5)
    positive = lrs[lrs > 0]
    if len(positive) and positive.max() / positive.min() > 100:  # decays over decades read better on a log axis
        ax.set_yscale("log")
    ax.set_xlabel(f"optimizer step ({steps_per_epoch} per epoch)")
    ax.set_ylabel("learning rate")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    from ..checkpoint import save_figure  # numpy: not at import time (specc check stays light)

    save_figure(path, fig, dpi=100)
    plt.close(fig)


def run(args) -> int:
    from ..schedules import lr_table, steps_per_epoch

    program = compile_spec(args)
    train = program.train
    if train is None:
        raise SpecError("the spec has no train block, so it has no learning-rate schedule", hint="add a train block")
    title = f"{program.model.name}: {describe(train.optimizer)}, schedule {describe(train.schedule)}"
    if train.schedule.name == "plateau":
        return _explain_plateau(train, title, args.plot)
    spe = steps_per_epoch(count_train(program, args), train.step_batch)
    lrs = lr_table(train, spe)
    if args.plot:
        from ..files import output_file

        output_file(args.plot, "plot file")
        plot(lrs, spe, title.replace(", schedule", "\nschedule"), args.plot)
        print(f"wrote {args.plot} ({len(lrs)} steps)")
        return 0
    print(title)
    per_step = f"batch {train.batch}" + (f" x accumulate {train.accumulate}" if train.accumulate > 1 else "")
    print(f"{len(lrs)} steps, {spe} per epoch ({per_step})")
    print(format_table(lrs, spe, args.all))
    return 0


def _explain_plateau(train, title: str, plot: str | None) -> int:
    """plateau follows a metric of the run: there is no table to show before training."""
    a = train.schedule.args
    lr0 = train.optimizer.args["lr"]
    if plot:
        raise SpecError("the plateau schedule cannot be plotted ahead: its learning rate depends on "
                        f"`{a['monitor']}` during training", hint="train, then read the lr column of metrics.csv")
    print(title)
    print(f"plateau follows `{a['monitor']}` during training, so its learning rate cannot be tabulated ahead:")
    print(f"it starts at {lr0:g}; after more than {a['patience']} epoch(s) without improvement (threshold "
          f"{a['threshold']:g}, {a['threshold_mode']}) it is multiplied by {a['factor']:g}, never below "
          f"{a['min_lr']:g}" + (f", then waits {a['cooldown']} epoch(s)" if a["cooldown"] else "") + ".")
    print("The lr of every epoch is the `lr` column of the run's metrics.csv.")
    return 0
