"""Hyperparameter sweeps on Optuna: a loop of ordinary training runs with a shared storage.

Each trial trains the spec with `--set`-style overrides drawn by the sampler
and writes a normal run directory (<sweep dir>/trial-NNN), so `specc runs`,
`compare` and `report` work on trials as on any run. After every epoch the
trial reports the metric to Optuna; when the pruner (MedianPruner) says the
trial is worse than the median of earlier trials at that epoch, the run stops
there (its manifest says `stopped_by: pruned`).

The study lives in an Optuna storage: by default a SQLite file in the sweep
directory, so running the same command again continues a stopped sweep up to
--trials trials in all. A database URL (PostgreSQL, MySQL) lets workers on
several machines share one study. Workers are separate processes (`spawn`:
no state shared with the parent but the storage).
"""
from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import SpecError
from .ir import Pos

KINDS = ("uniform", "loguniform", "int", "logint", "choice")
SAMPLERS = ("tpe", "random", "grid")
PARAM_SYNTAX = "KEY=KIND(ARGS), e.g. 'train.optimizer.lr=loguniform(1e-4, 1e-1)' or 'train.batch=choice(32, 64)'"
FINAL_STATES = ("COMPLETE", "PRUNED", "FAIL")


@dataclass(frozen=True)
class Param:
    """One searched setting: `key` as for --set (plus section.spec.arg), a distribution and its arguments."""

    key: str
    kind: str
    args: tuple

    def suggest(self, trial):
        lo_hi = self.args
        if self.kind == "uniform":
            return trial.suggest_float(self.key, *lo_hi)
        if self.kind == "loguniform":
            return trial.suggest_float(self.key, *lo_hi, log=True)
        if self.kind == "int":
            return trial.suggest_int(self.key, *lo_hi)
        if self.kind == "logint":
            return trial.suggest_int(self.key, *lo_hi, log=True)
        return trial.suggest_categorical(self.key, list(self.args))

    @property
    def log(self) -> bool:
        return self.kind in ("loguniform", "logint")


def _literal(text: str):
    import ast  # here, not at the top: every CLI call imports this module for `specc sweep --help`
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text  # a bare word: choice(relu, tanh)


def parse_param(text: str, index: int = 1) -> Param:
    """'train.optimizer.lr=loguniform(1e-4, 1e-1)' -> Param (a SpecError naming --param N otherwise)."""
    where = Pos(file="--param", line=index, column=1)
    m = re.fullmatch(r"\s*([A-Za-z_][\w.]*)\s*=\s*([a-z]+)\s*\((.*)\)\s*", text)
    if not m:
        raise SpecError(f"cannot read --param {text!r}", where, hint=f"write {PARAM_SYNTAX}")
    key, kind, body = m.groups()
    if kind not in KINDS:
        from .errors import did_you_mean

        raise SpecError(f"unknown distribution `{kind}` in --param {text!r} (known: {', '.join(KINDS)})", where,
                        hint=did_you_mean(kind, KINDS))
    if key.split(".")[0] not in ("data", "train") or key.count(".") not in (1, 2):
        raise SpecError(f"--param key `{key}` must be data.KEY, train.KEY or train.KEY.ARG "
                        "(e.g. train.batch, train.optimizer.lr)", where)
    args = tuple(_literal(a) for a in body.split(",") if a.strip())
    if kind == "choice":
        if not args:
            raise SpecError(f"choice() in --param {text!r} needs at least one value", where)
        return Param(key, kind, args)
    if len(args) != 2 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        raise SpecError(f"{kind}(LOW, HIGH) in --param {text!r} takes two numbers", where)
    lo, hi = args
    if not lo < hi:
        raise SpecError(f"{kind}({lo}, {hi}) in --param {text!r}: LOW must be below HIGH", where)
    if kind in ("loguniform", "logint") and lo <= 0:
        raise SpecError(f"{kind} in --param {text!r} needs LOW > 0", where)
    if kind in ("int", "logint"):
        if not all(isinstance(a, int) for a in args):
            raise SpecError(f"{kind}(LOW, HIGH) in --param {text!r} takes two integers", where)
        return Param(key, kind, (lo, hi))
    return Param(key, kind, (float(lo), float(hi)))


def _value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def overrides_for(program, values: dict) -> list[str]:
    """--set texts for the drawn values; train.optimizer.lr=V becomes train.optimizer=adam(lr=V, <its other args>)."""
    sets, calls = [], {}
    for key, value in values.items():
        parts = key.split(".")
        if len(parts) == 2:
            sets.append(f"{key}={_value_text(value)}")
            continue
        section, name, arg = parts
        spec = getattr(getattr(program, section, None), name, None)
        if spec is None or not hasattr(spec, "args"):
            raise SpecError(f"--param {key}: `{section}.{name}` is not a call such as adam(lr=...) in this spec")
        calls.setdefault((section, name), (spec.name, dict(spec.args)))[1][arg] = value
    for (section, name), (call, args) in calls.items():
        inner = ", ".join(f"{k}={_value_text(v)}" for k, v in args.items() if v is not None)
        sets.append(f"{section}.{name}={call}({inner})")
    return sets


def default_metric(program) -> str:
    """The first validation metric of the spec (val_accuracy), else val_loss."""
    from .ops.catalog import metric_columns

    columns = metric_columns(program.train)
    return f"val_{columns[0]}" if columns else "val_loss"


def logged_columns(program) -> list[str]:
    """The per-epoch metrics a run of this spec can log (val_* need a validation split, train_* are
    logged instead when there is none)."""
    from .ops.catalog import metric_columns

    names = metric_columns(program.train)
    return ["val_loss", "train_loss", *(f"val_{n}" for n in names), *(f"train_{n}" for n in names)]


def direction(metric: str) -> str:
    from .runinfo import monitor_mode

    return "minimize" if monitor_mode(metric) == "min" else "maximize"


@dataclass
class SweepConfig:
    """Everything a worker process needs (plain values: it is sent to a spawned process)."""

    spec: str
    params: tuple
    sets: tuple
    out: str
    storage: str
    study: str
    trials: int
    metric: str
    sampler: str = "tpe"
    seed: int = 0
    pruner: str = "median"
    backend: str = "numpy"


def make_sampler(config: SweepConfig, worker: int = 0, offset: int = 0):
    """The sampler of one worker. Its seed is seed + worker + offset (the trials already in the study):
    two workers, or a continued sweep, would otherwise draw the same first random trials again."""
    import optuna

    seed = config.seed + worker + offset
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if config.sampler == "grid":
        space = {}
        for p in config.params:
            if p.kind != "choice":
                raise SpecError(f"--sampler grid needs choice(...) values; --param {p.key} is {p.kind}",
                                hint="write e.g. train.optimizer.lr=choice(1e-3, 3e-3, 1e-2)")
            space[p.key] = list(p.args)
        return optuna.samplers.GridSampler(space, seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(config: SweepConfig):
    import optuna

    if config.pruner == "none":
        return optuna.pruners.NopPruner()
    # Prune from the 4th trial on, and never in a trial's first 2 epochs (early epochs are noisy).
    return optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2)


def storage(url: str):
    """An Optuna storage for the URL. SQLite runs in WAL mode with synchronous=NORMAL: a trial
    reports after every epoch, and a full fsync per report (~30 ms here) would cost more than
    small epochs; the database stays consistent, a power cut may lose the last reports."""
    import optuna

    if not url.startswith("sqlite:"):
        return url
    from sqlalchemy import event

    rdb = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})

    def pragmas(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(rdb.engine, "connect", pragmas)
    rdb.engine.dispose()  # connections made while creating the tables reopen with the pragmas
    return rdb


def open_study(config: SweepConfig, worker: int = 0):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=config.study, storage=storage(config.storage), load_if_exists=True,
                                direction=direction(config.metric), pruner=make_pruner(config))
    study.sampler = make_sampler(config, worker, offset=len(study.get_trials(deepcopy=False)))
    return study


def count_trials(study, states=FINAL_STATES + ("RUNNING",)) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.name in states)


def objective(config: SweepConfig, trial):
    """Train one trial as a normal run; report the metric each epoch; prune or return the final value."""
    import optuna

    from .driver import NonFiniteLoss, Trainer
    from .frontend import compile_file

    base = compile_file(config.spec, overrides=config.sets)
    values = {p.key: p.suggest(trial) for p in config.params}
    sets = [*config.sets, *overrides_for(base, values)]
    program = compile_file(config.spec, overrides=tuple(sets))
    out = Path(config.out) / f"trial-{trial.number:03d}"
    trial.set_user_attr("run_dir", str(out))
    trial.set_user_attr("overrides", sets)

    def on_epoch(row):
        value = row.get(config.metric)
        if value is None:
            raise SpecError(f"the runs log no `{config.metric}` (they log {', '.join(row)})",
                            hint="choose one with --metric")
        trial.report(float(value), row["epoch"])
        return "pruned" if trial.should_prune() else None

    trainer = Trainer(program, backend=config.backend, out=out, quiet=True, overrides=sets,
                      spec_path=config.spec, on_epoch=on_epoch, handle_signals=False)
    try:
        result = trainer.run()
    except NonFiniteLoss:
        trial.set_user_attr("status", "diverged")
        raise
    if trainer.state.stopped_by == "pruned":
        raise optuna.TrialPruned()
    rows = result.history
    kept = next((r for r in rows if r["epoch"] == result.best_epoch), rows[-1]) if result.best_epoch else rows[-1]
    if result.test:
        trial.set_user_attr("test", result.test)
    return float(kept[config.metric])


def work(config: SweepConfig, worker: int = 0, callbacks=()) -> None:
    """Run trials until the study holds `config.trials` (finished or running) trials."""
    from optuna.study import MaxTrialsCallback

    from .driver import NonFiniteLoss

    study = open_study(config, worker)
    remaining = config.trials - count_trials(study)
    if remaining <= 0:
        return
    stop = MaxTrialsCallback(config.trials, states=None)  # counts running trials: no worker overshoots
    study.optimize(lambda t: objective(config, t), n_trials=remaining, catch=(NonFiniteLoss,),
                   callbacks=[stop, *callbacks], gc_after_trial=False)


def worker_main(config: SweepConfig, worker: int) -> int:
    """Entry of a worker process: errors as one clear message and exit code 2, like the CLI."""
    from .errors import SpecErrors

    try:
        work(config, worker)
    except (SpecError, SpecErrors) as e:
        print(e.render(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _worker_process(config: SweepConfig, worker: int) -> None:
    sys.exit(worker_main(config, worker))


def fail_stale_trials(study) -> int:
    """Mark RUNNING trials of a local study as failed: their process was stopped (a sweep being continued)."""
    from optuna.trial import TrialState

    stale = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    for t in stale:
        study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
    return len(stale)


def trials_table(study, params) -> str:
    """One row per trial: number, state, the drawn values, the metric, the run directory."""
    head = ["trial", "state", *[p.key.split(".")[-1] for p in params], "value", "run"]
    rows = []
    for t in study.get_trials(deepcopy=False):  # a pruned trial's value is its last report
        state = t.user_attrs.get("status", t.state.name.lower())
        value = "-" if t.value is None else f"{t.value:.4g}"
        rows.append([str(t.number), state, *[_short(t.params.get(p.key)) for p in params], value,
                     t.user_attrs.get("run_dir", "-")])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows])


def _short(v) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def write_plot(path, study, params, metric: str) -> None:
    """The metric against each parameter: finished trials filled, pruned ones hollow (their last report)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(params), 3.6), dpi=100)
    for index, p in enumerate(params, 1):
        ax = fig.add_subplot(1, len(params), index)
        for state, style in (("COMPLETE", dict(color="C0")), ("PRUNED", dict(facecolors="none", edgecolors="C3"))):
            xs, ys = [], []
            for t in study.get_trials(deepcopy=False):
                if t.state.name != state or p.key not in t.params:
                    continue
                y = t.value  # for a pruned trial: its last report
                if y is not None and not (isinstance(y, float) and math.isnan(y)):
                    xs.append(t.params[p.key] if p.kind != "choice" else str(t.params[p.key]))
                    ys.append(y)
            if xs:
                ax.scatter(xs, ys, label=state.lower(), **style)
        if p.log:
            from matplotlib.ticker import NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a narrow range
        ax.set_xlabel(p.key)
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    from .checkpoint import save_figure  # numpy: not at import time (specc check reads sweep ranges)

    save_figure(path, fig)
