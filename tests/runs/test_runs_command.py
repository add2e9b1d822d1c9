"""`specc runs`: every run under a folder, its status (finished / interrupted / diverged) and metrics."""
from __future__ import annotations

import json
import os

from specc import cli
from specc.driver import Interrupted, Trainer
from specc.frontend import compile_file
from specc.runinfo import find_runs, read_run

from .conftest import train


def test_table_and_json_show_status_steps_and_metrics(specs, tmp_path, capsys):
    root = tmp_path / "runs"
    assert train(specs["moons"], root / "slow", "train.optimizer=adam(lr=0.001)") == 0
    assert train(specs["moons"], root / "fast") == 0
    assert train(specs["diverges"], root / "div") == 3
    program = compile_file(specs["moons"])
    try:  # stopped after 5 steps, as Ctrl-C would: a checkpoint, no result
        Trainer(program, out=root / "sweep" / "cut", interrupt_after=5, handle_signals=False).run()
    except Interrupted:
        pass
    capsys.readouterr()

    assert cli.main(["runs", str(root), "--json"]) == 0
    runs = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {name: r["status"] for name, r in runs.items()} == {
        "slow": "finished", "fast": "finished", "div": "diverged", "sweep/cut": "interrupted"}
    fast = runs["fast"]
    assert fast["steps"] == 6 * 6 and fast["epochs"] == 6 and fast["backend"] == "numpy"
    assert set(fast["final"]) == {"train_loss", "val_loss", "val_accuracy"}
    assert fast["best"]["val_loss"] <= fast["final"]["val_loss"]
    assert fast["best"]["val_accuracy"] >= fast["final"]["val_accuracy"]
    assert set(fast["test"]) == {"loss", "accuracy"}

    assert cli.main(["runs", str(root), "--sort", "val_accuracy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:6] == ["name", "spec", "backend", "when", "steps", "status"]
    names = [line.split()[0] for line in lines[1:]]
    best_first = sorted(["slow", "fast"], key=lambda n: -runs[n]["final"]["val_accuracy"])
    assert names[:2] == best_first and set(names) == set(runs)
    assert "diverged" in lines[1 + names.index("div")]


def test_sort_options(specs, tmp_path, capsys):
    root = tmp_path / "runs"
    assert train(specs["moons"], root / "b", "train.epochs=2") == 0
    assert train(specs["moons"], root / "a", "train.epochs=3") == 0
    assert [r.name for r in find_runs(root)] == ["b", "a"] or [r.name for r in find_runs(root)] == ["a", "b"]
    capsys.readouterr()
    assert cli.main(["runs", str(root), "--sort", "name"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["a", "b"]
    assert cli.main(["runs", str(root), "--sort=-steps"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["a", "b"]
    assert cli.main(["runs", str(root), "--sort", "val_acuracy"]) == 2
    err = capsys.readouterr().err
    assert "val_acuracy" in err and "val_accuracy" in err


def test_missing_folder_and_empty_folder(tmp_path, capsys):
    assert cli.main(["runs", str(tmp_path / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert cli.main(["runs", str(tmp_path)]) == 0
    assert "no runs under" in capsys.readouterr().out


def test_a_run_killed_while_running_is_not_shown_running(specs, tmp_path):
    """The manifest says running, but its process is gone: the checkpoint makes it interrupted."""
    out = tmp_path / "r"
    assert train(specs["xor"], out) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    del manifest["result"]
    manifest.update(status="running", pid=2 ** 22 + 12345)  # no such process
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert read_run(out).status == "interrupted"
    manifest["pid"] = os.getpid()  # a live process on this host: running
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert read_run(out).status == "running"
