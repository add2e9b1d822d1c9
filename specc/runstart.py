"""Starting a run: its directory claimed before any slow work, given back when the start fails, and the
manifest a new run writes. (A resumed run is opened by resume.py.)"""
from __future__ import annotations

import time
from pathlib import Path

from . import rundir
from .ir import Program


def claim_new(run_dir: Path | None, model_name: str, force: bool):
    """(run directory, lock): `--out DIR` claimed atomically (a previous run in it cleared with --force),
    or a fresh runs/<model>-<time> when no directory was named."""
    from . import claim

    if run_dir is None:
        return claim.claim_default(model_name)
    lock, previous_run = claim.claim_out(run_dir, force=force, markers=rundir.RUN_MARKERS, run_files=rundir.RUN_FILES)
    if previous_run:
        rundir.clear_run(run_dir)
    return run_dir, lock


def abandon(run_dir: Path | None, lock, *, fresh: bool, main: bool) -> None:
    """A failed start: release the claim, and leave no empty run directory behind a new run."""
    if lock is not None:
        lock.release()
    if main and fresh and run_dir is not None and run_dir.is_dir():
        if lock is not None and [p.name for p in run_dir.iterdir()] == [rundir.LOCK]:
            lock.remove()
        if not any(run_dir.iterdir()):
            run_dir.rmdir()


def new_manifest(program: Program, *, spec_hash: str, resume_hash: str, spec_path, overrides, seed: int,
                 backend: str, options: dict, n_train: int, init_from_keys: list, steps_per_epoch: int,
                 total_steps: int) -> dict:
    """manifest.json of a new run: what was trained, from which spec, with what, for how long.

    The hashes are of the spec as written (what --resume compares), passed in because `program`
    is the resolved one (class weights counted on the data)."""
    train = program.train
    return {
        "spec_hash": spec_hash,
        "resume_hash": resume_hash,
        "model_hash": rundir.model_hash(program),
        "schedule": rundir.schedule_of(program),
        "spec_file": str(spec_path),
        "spec_normalized": True,  # spec.nn is the printed, resolved program
        "overrides": list(overrides),
        "model": program.model.name,
        "seed": seed,
        "backend": backend,
        "backend_options": {k: v for k, v in options.items() if isinstance(v, (str, int, float, bool))},
        "versions": rundir.library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "n_train": n_train,
        **({"init_from": {"path": train.init_from.path, "params": init_from_keys}}
           if train.init_from is not None else {}),
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total_steps,
    }
