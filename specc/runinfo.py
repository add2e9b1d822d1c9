"""Reading run directories back: what `specc runs`, `compare`, `report` and `specc.runs()` list.

A run directory (docs/ARCHITECTURE.md, "Run directory") is found by its
manifest.json; its history is metrics.jsonl. Nothing here writes or imports a
backend, so listing a thousand runs stays cheap.

Status of a run:
  finished     the manifest has a result (training ended and the weights are saved)
  pruned       finished early because a sweep's pruner stopped it
  diverged     the loss or the weights became NaN/inf (`specc train` exited 3)
  interrupted  stopped by Ctrl-C/SIGTERM, or killed: a checkpoint but no result
  running      the manifest says running and its process is alive on this machine
  unfinished   no result and no checkpoint (killed before its first checkpoint)
"""
from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import rundir
from .errors import SpecError
from .ir import Pos

# Per-epoch columns that are not metrics (left out of best/final).
NOT_METRICS = {"epoch", "step", "lr", "time", "samples_per_s", "partial"}


def monitor_mode(key: str) -> str:
    """'min' for losses and errors, 'max' for the rest (accuracy, top-k, ...)."""
    return "min" if key.endswith(("loss", "mse", "mae", "perplexity")) else "max"


@dataclass
class Run:
    """One run directory, summarized."""

    path: str
    name: str
    model: str
    spec_file: str
    backend: str
    created: str
    status: str
    steps: int
    epochs: int
    final: dict = field(default_factory=dict)   # metric -> value in the last epoch
    best: dict = field(default_factory=dict)    # metric -> best value over the epochs
    test: dict = field(default_factory=dict)    # metric -> value on the test split (finished runs)
    overrides: list = field(default_factory=list)

    @property
    def primary(self) -> str | None:
        """The metric a table shows first: a validation metric, else val_loss, else train_loss."""
        keys = list(self.final)
        for key in keys:
            if key.startswith("val_") and key != "val_loss":
                return key
        for key in ("val_loss", "train_loss"):
            if key in keys:
                return key
        return keys[0] if keys else None

    def as_dict(self) -> dict:
        return asdict(self)


def read_history(run_dir) -> list[dict]:
    """The rows of metrics.jsonl; a torn last line (a killed run) is skipped."""
    path = Path(run_dir) / rundir.METRICS_JSONL
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def _alive(manifest: dict) -> bool:
    pid, host = manifest.get("pid"), manifest.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_status(run_dir, manifest: dict) -> str:
    result = manifest.get("result")
    if result is not None:
        return "pruned" if result.get("stopped_by") == "pruned" else "finished"
    status = manifest.get("status")
    if status == "diverged":
        return "diverged"
    if status == "running" and _alive(manifest):
        return "running"
    if (Path(run_dir) / rundir.CHECKPOINT).exists():
        return "interrupted"
    return "unfinished"


def summarize(history: list[dict]) -> tuple[dict, dict]:
    """(final, best) values of each metric column over the history."""
    final: dict = {}
    best: dict = {}
    for row in history:
        for key, value in row.items():
            if key in NOT_METRICS or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            final[key] = value
            if key not in best:
                best[key] = value
            elif monitor_mode(key) == "min":
                best[key] = min(best[key], value)
            else:
                best[key] = max(best[key], value)
    return final, best


def read_run(run_dir, root=None) -> Run:
    """Summarize one run directory (a SpecError if it has no readable manifest)."""
    path = Path(run_dir)
    manifest = rundir.read_manifest(path)
    history = read_history(path)
    final, best = summarize(history)
    result = manifest.get("result") or {}
    name = str(path.relative_to(root)) if root is not None and path != Path(root) else path.name
    last = history[-1] if history else {}
    return Run(
        path=str(path), name=name, model=str(manifest.get("model", "?")),
        spec_file=str(manifest.get("spec_file", "")), backend=str(manifest.get("backend", "?")),
        created=str(manifest.get("created", "")), status=run_status(path, manifest),
        steps=int(result.get("steps", last.get("step", 0)) or 0),
        epochs=int(result.get("epochs", last.get("epoch", 0)) or 0),
        final=final, best=best, test=dict(result.get("test") or {}), overrides=list(manifest.get("overrides") or []))


def find_runs(root) -> list[Run]:
    """Every run directory at or below `root` (sweeps nest their trials), oldest first."""
    root = Path(root)
    if not root.is_dir():
        raise SpecError(f"{root} is not a directory", Pos(file=str(root)),
                        hint="give the folder that holds run directories (default runs)")
    runs = []
    for manifest in sorted(root.rglob(rundir.MANIFEST)):
        try:
            runs.append(read_run(manifest.parent, root))
        except SpecError:
            continue  # a damaged manifest: not a run we can list
    runs.sort(key=lambda r: (r.created, r.name))
    return runs


def sort_runs(runs: list[Run], key: str) -> list[Run]:
    """Sort by a column (name, model, backend, when, status, steps, epochs) or a metric.

    A metric sorts by its final value, best first (highest accuracy, lowest
    loss); `best:<metric>` and `test:<metric>` sort by those values. A leading
    `-` reverses the order. Runs without the value come last.
    """
    reverse = key.startswith("-")
    key = key.lstrip("-")
    columns = {"name": "name", "model": "model", "backend": "backend", "when": "created", "created": "created",
               "status": "status", "steps": "steps", "epochs": "epochs", "spec": "spec_file"}
    if key in columns:
        attr = columns[key]
        return sorted(runs, key=lambda r: getattr(r, attr), reverse=reverse)
    where, _, metric = key.rpartition(":")
    where = where or "final"
    if where not in ("final", "best", "test"):
        raise SpecError(f"cannot sort by {key!r}", hint="use name, when, status, steps, a metric such as "
                        "val_accuracy, or best:<metric> / test:<metric>")
    known = {k for r in runs for k in getattr(r, where)}
    if runs and metric not in known:
        from .errors import did_you_mean

        raise SpecError(f"no run has a {where} value for {metric!r} (known: {', '.join(sorted(known)) or 'none'})",
                        hint=did_you_mean(metric, sorted(known)))
    sign = 1 if monitor_mode(metric) == "min" else -1
    have = [r for r in runs if getattr(r, where).get(metric) is not None]
    missing = [r for r in runs if getattr(r, where).get(metric) is None]
    have.sort(key=lambda r: sign * getattr(r, where)[metric], reverse=reverse)
    return have + missing
