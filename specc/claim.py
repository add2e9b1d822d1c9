"""Claiming a run directory, atomically, before any slow work starts.

Two `specc train` with the same `--out` (or the same default
`runs/<model>-<stamp>`, as in any shell loop or sweep) must not both write into
one directory. "Is there a previous run?" followed by "create it" is a race,
so the claim is one exclusive operation:

* a default name is claimed with `mkdir` (no `exist_ok`), retried with `-2`,
  `-3`, ... until one is ours;
* an explicit `--out DIR` is claimed by creating `DIR/.specc-run.lock` with
  O_CREAT|O_EXCL; the loser exits 2 naming the winner's pid.

The lock file stays as the run's marker, and the winner also holds an
advisory `flock` on it for as long as it runs, so `--resume` and `--force`
refuse a directory another process is writing right now (a dead process
releases its flock, so a crashed run can be resumed).

A directory that holds files but no run (`--out .`, a folder with the user's
own spec.nn or metrics.csv) is refused, even with `--force`: --force replaces a
previous run's files, never the user's.
"""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from .errors import SpecError
from .ir import Pos

LOCK = ".specc-run.lock"

try:
    import fcntl
except ImportError:  # Windows: the O_EXCL claim still holds, only the in-use check is skipped
    fcntl = None


class RunLock:
    """An open, flocked lock file; keep it for the life of the run (closing releases the flock)."""

    def __init__(self, path: Path, fd: int):
        self.path, self.fd = path, fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self):
        self.release()

    def remove(self) -> None:
        """Release and delete the lock (a start that failed before writing anything)."""
        self.release()
        try:
            self.path.unlink()
        except OSError:
            pass


def _error(message: str, path: Path, hint: str | None = None) -> SpecError:
    return SpecError(message, Pos(file=str(path)), hint=hint)


def _holder(lock: Path) -> str:
    """`pid N` from a lock file, for messages."""
    try:
        text = lock.read_text(encoding="utf-8").strip()
    except OSError:
        return "another process"
    return f"pid {text}" if text.isdigit() else "another process"


def _flock(fd: int, lock: Path, run_dir: Path) -> None:
    if fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise _error(f"{run_dir} is in use: another specc train ({_holder(lock)}) is writing it right now",
                     run_dir, hint="wait for it to finish, or choose another --out") from None


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


def _unwritable(run_dir: Path, e: OSError) -> SpecError:
    return _error(f"cannot write to output directory {run_dir}: {e.strerror or e}", run_dir,
                  hint="choose another directory with --out")


def _create_exclusive(run_dir: Path) -> RunLock:
    """Create the lock with O_EXCL: exactly one of several racing processes gets it."""
    lock = run_dir / LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise _error(f"{run_dir} was claimed by another specc train ({_holder(lock)}); not writing into it",
                     run_dir, hint="choose another --out, or leave --out out for a fresh runs/<model>-<time>") from None
    except OSError as e:
        raise _unwritable(run_dir, e) from None
    _flock(fd, lock, run_dir)
    held = RunLock(lock, fd)
    try:
        _write_pid(fd)
    except OSError as e:  # a full disk: give the claim back
        held.remove()
        raise _unwritable(run_dir, e) from None
    return held


def _open_existing(run_dir: Path) -> RunLock:
    """Take the flock of a run that exists (resume, --force); refuse while its writer still runs."""
    lock = run_dir / LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)  # runs from before the lock file have none yet
    except OSError as e:
        raise _unwritable(run_dir, e) from None
    _flock(fd, lock, run_dir)
    held = RunLock(lock, fd)
    try:
        _write_pid(fd)
    except OSError as e:
        held.release()
        raise _unwritable(run_dir, e) from None
    return held


def is_run(run_dir: Path, markers) -> bool:
    return (run_dir / LOCK).exists() or any((run_dir / m).exists() for m in markers)


def _foreign_files(run_dir: Path, run_files) -> list[str]:
    """Entries that no specc run writes (the user's own files)."""
    import fnmatch

    from .rundir import EVENTS_GLOB

    ours = set(run_files) | {LOCK}
    temps = tuple(f".{name}." for name in run_files)  # interrupted atomic writes: `.checkpoint.npz.XXXX.tmp`
    return sorted(p.name for p in run_dir.iterdir() if p.name not in ours and not p.name.startswith(temps)
                  and not fnmatch.fnmatch(p.name, EVENTS_GLOB))  # TensorBoard events are a run's too


def claim_default(model_name: str, root="runs", now: _dt.datetime | None = None) -> tuple[Path, RunLock]:
    """runs/<model>-<YYYYmmdd-HHMMSS>, or -2, -3, ...: the first name whose mkdir succeeds."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{model_name}-{stamp}"
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _error(f"cannot create {base.parent}: {e.strerror or e}", base.parent,
                     hint="choose another directory with --out") from None
    for n in range(1, 10_000):
        path = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            raise _error(f"cannot create {path}: {e.strerror or e}", path,
                         hint="choose another directory with --out") from None
        return path, _create_exclusive(path)
    raise _error(f"no free run directory name after {base}-9999", base)


def claim_out(run_dir: Path, *, force: bool, markers, run_files) -> tuple[RunLock, list[str]]:
    """Claim an explicit --out DIR; returns the lock and the previous run's files that --force replaces."""
    if run_dir.exists() and not run_dir.is_dir():
        raise _error(f"output path {run_dir} exists and is not a directory", run_dir)
    if not run_dir.exists():
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise _unwritable(run_dir, e) from None
    if is_run(run_dir, markers):
        found = [m for m in markers if (run_dir / m).exists()]
        if not force:
            what = f" ({', '.join(found)})" if found else ""
            raise _error(f"{run_dir} already holds a training run{what}; not overwriting it", run_dir,
                         hint=f"continue it with --resume {run_dir}, choose a new --out, or pass --force to "
                              "replace it")
        foreign = _foreign_files(run_dir, run_files)
        if foreign:
            raise _error(f"{run_dir} holds files that are not a run's ({', '.join(foreign[:5])}); --force only "
                         "replaces a run's own files", run_dir, hint="choose an empty or new --out")
        return _open_existing(run_dir), found
    foreign = sorted(p.name for p in run_dir.iterdir())  # not a run: every file in it is the user's
    if foreign:
        shown = ", ".join(foreign[:5]) + (f", ... ({len(foreign)} entries)" if len(foreign) > 5 else "")
        raise _error(f"{run_dir} is not empty and is not a run directory (it holds {shown}); not writing into it",
                     run_dir, hint="choose an empty or new directory with --out")
    return _create_exclusive(run_dir), []


def claim_resume(run_dir: Path) -> RunLock:
    """The flock of a run to continue; refused while another process writes it."""
    return _open_existing(run_dir)
