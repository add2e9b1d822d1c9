"""`--resume RUN`: is this run a run of this spec, and is its checkpoint whole?

A resume continues the run directory it names. The spec must be the one the run
was trained with, except for its length and schedule (train.epochs, train.steps,
train.schedule): a finished run may be continued for longer. A checkpoint that
belongs to another spec, or whose metadata was damaged, is a clear error naming
the file, never a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import rundir
from .checkpoint import Checkpoint, check_weights, load_checkpoint
from .errors import DataError, SpecError
from .ir import Pos, Program
from .trainstate import TrainState

_META_TYPES = {int: (int,), float: (int, float), bool: (bool,), list: (list,)}


@dataclass
class Resumed:
    run_dir: Path
    checkpoint: Checkpoint
    lock: object | None        # the claim on the run directory (main process only)
    schedule_change: dict      # {} when the spec is the same; else what changed (recorded in the manifest)


def open_run(resume, out, program: Program, *, spec_hash: str, resume_hash: str, spec_path, main: bool) -> Resumed:
    """Check that `resume` is a run of this very spec (or of it with another schedule), claim it, read its
    checkpoint."""
    if out is not None and Path(out).resolve() != Path(resume).resolve():
        raise SpecError("--resume continues in the run directory it names; drop --out")
    run_dir = rundir.require_run_dir(resume)
    manifest = rundir.read_manifest(run_dir)
    same = manifest.get("spec_hash") == spec_hash
    if not same and manifest.get("resume_hash") != resume_hash:
        raise SpecError(
            f"cannot resume {run_dir}: the spec differs from the one this run was trained with "
            f"(spec hash {spec_hash[:19]}... vs {str(manifest.get('spec_hash'))[:19]}...)",
            Pos(file=spec_path),
            hint="resume with the same spec file and --set overrides (only train.epochs, train.steps and "
                 "train.schedule may change), or start a new run")
    ckpt_path = run_dir / rundir.CHECKPOINT
    if not ckpt_path.exists():
        raise SpecError(f"cannot resume {run_dir}: it has no {rundir.CHECKPOINT}", Pos(file=str(run_dir)),
                        hint=f"it stopped before its first checkpoint; start it over with --out {run_dir} --force")
    lock = None
    if main:
        from .claim import claim_resume

        lock = claim_resume(run_dir)  # refused while another process writes this run
    try:
        ckpt = load_checkpoint(ckpt_path)
        owner = ckpt.meta.get("resume_hash")
        if owner is not None and owner != resume_hash:  # e.g. a checkpoint copied from another run
            raise SpecError(f"{ckpt_path} belongs to another spec (its hash {str(owner)[:19]}... is not this "
                            f"spec's {resume_hash[:19]}...); not loading it", Pos(file=str(ckpt_path)),
                            hint="resume a run directory trained from this spec")
        change = {} if same else rundir.schedule_changes(manifest.get("schedule"), program)
        if main:
            rundir.prepare(run_dir)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return Resumed(run_dir, ckpt, lock, change)


def check_checkpoint(ckpt: Checkpoint, init: dict, path: Path) -> None:
    """The checkpoint's arrays fit this model and its metadata is a specc checkpoint's (hand edits included)."""
    check_weights(ckpt.params, init, path)
    if ckpt.best:
        check_weights(ckpt.best, init, path)
    if not isinstance(ckpt.meta, dict):
        raise SpecError(f"{path.name}: corrupt checkpoint metadata (not a JSON object)", Pos(file=str(path)))
    missing = [k for k in ("step", "epoch", "pos", "history") if k not in ckpt.meta]
    if missing:
        raise SpecError(f"{path.name} is not a complete specc checkpoint (no {', '.join(missing)} in its "
                        "metadata)", Pos(file=str(path)))
    for key, default in TrainState().to_meta().items():  # hand-edited metadata: a clear error, not a TypeError
        if key not in ckpt.meta:
            continue
        value, kinds = ckpt.meta[key], _META_TYPES.get(type(default), (type(default),))
        if default is None:
            kinds = (int, float, str, type(None))
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds) or \
                (isinstance(value, int) and not isinstance(value, bool) and value < 0 and key != "best_value"):
            raise SpecError(f"{path.name}: corrupt checkpoint metadata: `{key}` is {value!r}",
                            Pos(file=str(path)), hint="resume from an intact checkpoint or start a new run")


def restore(ckpt: Checkpoint, backend, files, *, n_train: int, spec_path) -> TrainState:
    """Put a checkpoint back: the backend's parameters and optimizer state, the files' manifest; its TrainState."""
    files.manifest = rundir.read_manifest(files.run_dir)
    state = TrainState.from_meta(ckpt.meta)
    if state.n_train != n_train:
        raise DataError(f"cannot resume: the training split now has {n_train} samples, "
                        f"the run was trained on {state.n_train}", Pos(file=str(spec_path)))
    backend.set_params(ckpt.params)
    if ckpt.optimizer:
        try:
            backend.load_optimizer_state(ckpt.optimizer)
        except (KeyError, ValueError, TypeError) as e:
            path = files.run_dir / rundir.CHECKPOINT
            raise SpecError(f"{path.name}: the optimizer state does not fit this spec's optimizer ({e})",
                            Pos(file=str(path))) from None
    files.checkpoint_step = state.step
    return state


def record_continuation(files, state: TrainState, changed: dict, *, spec_hash: str, program: Program,
                        total_steps: int) -> None:
    """A resume with a new schedule (epochs/steps/schedule): say so in the manifest, then train on."""
    if not state.stopped_early:
        state.done = False  # a finished run continues for the added steps
    manifest = files.manifest
    manifest.setdefault("continued", []).append(
        {"at_step": state.step, "changed": changed, "spec_hash": spec_hash, "total_steps": total_steps})
    manifest.update(spec_hash=spec_hash, schedule=rundir.schedule_of(program), total_steps=total_steps)
    files.save_manifest()
