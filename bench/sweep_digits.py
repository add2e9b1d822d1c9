"""A 12-trial sweep of examples/digits.nn over lr and batch with 2 workers, against the same 12
settings trained one after another with `specc train` (wall time, in one run of this script).

Prints both wall times and their ratio, the best trial's test accuracy, and how many trials the
MedianPruner stopped early. The sequential baseline trains each trial's drawn settings in full
(no pruning), as a shell loop over `--set` would.

    python bench/sweep_digits.py [--trials 12] [--workers 2] [--out /tmp/specc-sweep-bench]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

SPEC = Path(__file__).resolve().parent.parent / "examples" / "digits.nn"
PARAMS = ["train.optimizer.lr=loguniform(1e-4, 1e-1)", "train.batch=choice(32, 64)"]


def timed(cmd) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{r.stderr}")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="/tmp/specc-sweep-bench")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)

    specc = [sys.executable, "-m", "specc"]
    sweep_cmd = [*specc, "sweep", str(SPEC), "--trials", str(args.trials), "--workers", str(args.workers),
                 "--out", str(out / "sweep"), "--quiet"]
    for p in PARAMS:
        sweep_cmd += ["--param", p]
    sweep_s = timed(sweep_cmd)

    import optuna

    from specc.sweep import overrides_for
    from specc.frontend import compile_file

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="sweep", storage=f"sqlite:///{(out / 'sweep' / 'sweep.db').resolve()}")
    trials = study.get_trials()
    program = compile_file(str(SPEC))
    seq_s = 0.0
    for t in trials:
        cmd = [*specc, "train", str(SPEC), "--quiet", "--out", str(out / "sequential" / f"t{t.number:03d}")]
        for s in overrides_for(program, t.params):
            cmd += ["--set", s]
        seq_s += timed(cmd)

    states = [t.state.name for t in trials]
    best = study.best_trial
    print(f"trials {len(trials)}: {states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned, "
          f"{states.count('FAIL')} failed")
    print(f"sweep, {args.workers} workers      {sweep_s:7.1f} s")
    print(f"{len(trials)} x specc train, in turn  {seq_s:7.1f} s")
    print(f"ratio sweep / sequential  {sweep_s / seq_s:7.2f}")
    print(f"best trial {best.number}: val_accuracy {best.value:.4f}, test accuracy "
          f"{best.user_attrs['test']['accuracy']:.4f}, params {best.params}")


if __name__ == "__main__":
    main()
