"""`specc sweep FILE --param KEY=DIST(...) ... --trials N`: search settings with Optuna.

Each trial is a normal run directory under the sweep directory; the study is
kept in a storage (a SQLite file there by default), so the same command run
again continues a stopped sweep. See specc/sweep.py.
"""
from __future__ import annotations

import sys
import time


def register(subparsers) -> None:
    from ..sweep import PARAM_SYNTAX, SAMPLERS

    p = subparsers.add_parser("sweep", help="search hyperparameters (Optuna): one run directory per trial",
                              description="Train a spec many times with settings drawn by Optuna (TPE by default), "
                                          "pruning trials whose validation metric falls behind (MedianPruner). "
                                          "Prints the best parameters and a table of trials, and writes a plot "
                                          "of the metric against each parameter.")
    p.add_argument("file", metavar="FILE", help="the .nn spec")
    p.add_argument("--param", metavar="KEY=DIST", action="append", default=[], required=True,
                   help=f"a searched setting (repeatable): {PARAM_SYNTAX}; DIST is uniform(lo, hi), "
                        "loguniform(lo, hi), int(lo, hi), logint(lo, hi) or choice(a, b, ...)")
    p.add_argument("--trials", type=int, default=20, help="trials in the study in all (default 20)")
    p.add_argument("--workers", type=int, default=1, help="trials run at once, each in its own process")
    p.add_argument("--metric", help="per-epoch metric to optimize (default the spec's first val metric, "
                                    "e.g. val_accuracy, else val_loss); losses are minimized, others maximized")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="tpe (default), random, or grid "
                                                                     "(grid needs choice(...) params)")
    p.add_argument("--pruner", choices=["median", "none"], default="median", help="median (default) or none")
    p.add_argument("--out", metavar="DIR", help="sweep directory (default runs/<model>-sweep); trials go in "
                                                "DIR/trial-NNN")
    p.add_argument("--storage", metavar="URL", help="Optuna storage URL (default sqlite:///DIR/sweep.db); e.g. "
                                                    "postgresql://user:password@host/db to share one sweep "
                                                    "between machines")
    p.add_argument("--study", help="study name in the storage (default the sweep directory's name)")
    p.add_argument("--seed", type=int, default=0, help="sampler seed (worker i uses seed + i)")
    p.add_argument("--backend", choices=["numpy", "torch"], default="numpy", help="numpy (default) or torch")
    p.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                   help="a fixed override for every trial, as for train")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _config(args):
    from pathlib import Path

    from ..errors import SpecError
    from ..frontend import compile_file
    from ..sweep import SweepConfig, default_metric, logged_columns, overrides_for, parse_param

    if args.trials < 1 or args.workers < 1:
        raise SpecError("--trials and --workers must be at least 1")
    params = tuple(parse_param(text, i) for i, text in enumerate(args.param, 1))
    keys = [p.key for p in params]
    if len(set(keys)) != len(keys):
        raise SpecError(f"--param names a setting twice: {', '.join(k for k in keys if keys.count(k) > 1)}")
    program = compile_file(args.file, overrides=tuple(args.set))
    # Check now that every drawn value makes a valid spec (the low end of each range), not in a worker later.
    sample = {p.key: p.args[0] for p in params}
    compile_file(args.file, overrides=(*args.set, *overrides_for(program, sample)))
    metric = args.metric or default_metric(program)
    known = logged_columns(program)
    if metric not in known:
        from ..errors import did_you_mean

        raise SpecError(f"--metric {metric}: the runs of this spec log {', '.join(known)} each epoch",
                        hint=did_you_mean(metric, known))
    out = Path(args.out or f"runs/{program.model.name}-sweep")
    out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{(out / 'sweep.db').resolve()}"
    return SweepConfig(spec=args.file, params=params, sets=tuple(args.set), out=str(out), storage=storage,
                       study=args.study or out.name, trials=args.trials,
                       metric=metric, sampler=args.sampler, seed=args.seed,
                       pruner=args.pruner, backend=args.backend)


def _check_same_search(study, config) -> None:
    """A study continued must search the same spec and settings, or its trials do not compare."""
    from .. import rundir
    from ..errors import SpecError
    from ..frontend import compile_file

    spec = rundir.spec_hash(compile_file(config.spec, overrides=config.sets))  # not the path: cwd may differ
    wanted = {"spec": spec, "params": [f"{p.key}={p.kind}{p.args}" for p in config.params],
              "sets": list(config.sets), "metric": config.metric}
    previous = study.user_attrs.get("search")
    if previous is None:
        study.set_user_attr("search", wanted)
    elif previous != wanted:
        raise SpecError(f"study {config.study!r} in {config.storage} was started with other settings "
                        f"({previous}); not mixing its trials with these",
                        hint="use another --out or --study for a new sweep")


def run(args) -> int:
    from ..progress import Progress
    from ..sweep import count_trials, fail_stale_trials, open_study, work

    config = _config(args)
    study = open_study(config)
    _check_same_search(study, config)
    if args.storage is None:  # a local study: nothing else runs it, so RUNNING trials were cut off
        stale = fail_stale_trials(study)
        if stale:
            print(f"continuing {config.study}: {stale} trial(s) cut off last time marked failed", file=sys.stderr)
    done = count_trials(study)
    progress = Progress(max(config.trials, done), initial=done, quiet=args.quiet, desc="sweep",
                        unit="trial")
    try:
        if args.workers == 1:
            def advance(study, trial):
                progress.advance()
                _show_best(progress, study)

            work(config, 0, callbacks=[advance])
        else:
            code = _run_workers(config, args.workers, progress, study)
            if code:
                return code
    finally:
        progress.close()
    return _summary(study, config)


def _show_best(progress, study) -> None:
    try:
        progress.show(best=study.best_value, force=True)
    except ValueError:  # no finished trial yet
        pass


def _run_workers(config, workers: int, progress, study) -> int:
    """Start the worker processes, follow the study's trial count on the bar, return 2 if any failed."""
    import multiprocessing

    from ..sweep import FINAL_STATES, _worker_process, count_trials

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker_process, args=(config, i)) for i in range(workers)]
    for p in procs:
        p.start()
    try:
        shown = count_trials(study, FINAL_STATES)
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
            now = count_trials(study, FINAL_STATES)
            if now > shown:
                progress.advance(now - shown)
                shown = now
                _show_best(progress, study)
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        raise
    for p in procs:
        p.join()
    codes = [p.exitcode for p in procs]
    return 2 if any(codes) else 0


def _summary(study, config) -> int:
    from pathlib import Path

    from ..sweep import trials_table, write_plot

    print(trials_table(study, config.params))
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    print(f"\n{len(states)} trials: {states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned, "
          f"{states.count('FAIL')} failed")
    try:
        best = study.best_trial
    except ValueError:
        print("no trial finished")
        return 1
    print(f"best trial {best.number}: {config.metric} {best.value:.4g}  run {best.user_attrs.get('run_dir')}")
    for key, value in best.params.items():
        print(f"  {key} = {value}")
    test = best.user_attrs.get("test")
    if test:
        print("  test: " + ", ".join(f"{k} {v:.4g}" for k, v in test.items()))
    plot = Path(config.out) / "sweep.png"
    write_plot(plot, study, config.params, config.metric)
    print(f"plot: {plot}\nstorage: {config.storage} (study {config.study!r}; run the same command to continue)")
    return 0
