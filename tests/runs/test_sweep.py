"""`specc sweep`: Optuna trials as normal run directories, pruning, continuing a stopped sweep, workers."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from specc import cli
from specc.driver import Trainer
from specc.errors import SpecError
from specc.frontend import compile_file
from specc.runinfo import find_runs
from specc.sweep import Param, overrides_for, parse_param

optuna = pytest.importorskip("optuna", reason="the sweep extra (pip install 'specc[sweep]')")


@pytest.mark.parametrize("text,param", [
    ("train.optimizer.lr=loguniform(1e-4, 1e-1)", Param("train.optimizer.lr", "loguniform", (1e-4, 0.1))),
    ("train.batch=choice(32, 64)", Param("train.batch", "choice", (32, 64))),
    ("train.epochs = int(2, 5)", Param("train.epochs", "int", (2, 5))),
    ("data.standardize=choice(true, false)", Param("data.standardize", "choice", ("true", "false"))),
])
def test_param_syntax(text, param):
    assert parse_param(text) == param


@pytest.mark.parametrize("text,message", [
    ("train.batch", "cannot read --param"),
    ("train.batch=choise(32, 64)", "did you mean `choice`"),
    ("train.optimizer.lr=loguniform(0, 1)", "needs LOW > 0"),
    ("train.optimizer.lr=uniform(1, 0.1)", "LOW must be below HIGH"),
    ("train.epochs=int(1.5, 4)", "two integers"),
    ("model.units=choice(3)", "must be data.KEY, train.KEY or train.KEY.ARG"),
])
def test_bad_params_are_clear_errors(text, message):
    with pytest.raises(SpecError) as e:
        parse_param(text, 2)
    assert message in e.value.render() and "--param:2" in e.value.render()


def test_an_optimizer_argument_becomes_a_whole_call_that_keeps_the_others(specs):
    program = compile_file(specs["xor"])  # sgd(lr=0.5, momentum=0.9)
    sets = overrides_for(program, {"train.optimizer.lr": 0.125, "train.batch": 2})
    assert sets[0] == "train.batch=2" and sets[1].startswith("train.optimizer=sgd(lr=0.125, momentum=0.9")
    tuned = compile_file(specs["xor"], overrides=sets)
    assert tuned.train.optimizer.args["lr"] == 0.125 and tuned.train.optimizer.args["momentum"] == 0.9
    assert tuned.train.batch == 2


def test_on_epoch_can_stop_a_run_which_is_then_complete_and_marked_pruned(specs, tmp_path):
    seen = []

    def on_epoch(row):
        seen.append(row["epoch"])
        return "pruned" if row["epoch"] == 2 else None

    result = Trainer(compile_file(specs["moons"]), out=tmp_path / "r", on_epoch=on_epoch, handle_signals=False).run()
    assert seen == [1, 2] and result.epochs == 2 and result.test is not None
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["result"]["stopped_by"] == "pruned" and (tmp_path / "r" / "weights.npz").exists()
    assert find_runs(tmp_path)[0].status == "pruned"


def sweep(spec, out, *extra):
    return cli.main(["sweep", spec, "--out", str(out), "--quiet", "--set", "train.epochs=5",
                     "--param", "train.optimizer.lr=loguniform(1e-5, 1e-1)", "--param", "train.batch=choice(4, 8)",
                     *extra])


def test_sweep_prunes_writes_runs_and_continues_where_it_stopped(specs, tmp_path, capsys):
    out = tmp_path / "sw"
    assert sweep(specs["moons"], out, "--trials", "8", "--sampler", "random") == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["trial", "state", "lr", "batch", "value", "run"]
    assert "best trial" in text and "train.optimizer.lr = " in text and "test: loss" in text
    study = optuna.load_study(study_name="sw", storage=f"sqlite:///{out / 'sweep.db'}")
    trials = study.get_trials()
    assert len(trials) == 8
    states = [t.state.name for t in trials]
    assert states.count("PRUNED") >= 1 and states.count("COMPLETE") >= 4, states
    # every trial is an ordinary run directory; pruned ones say so
    runs = {r.name: r for r in find_runs(out)}
    assert sorted(runs) == [f"trial-{i:03d}" for i in range(8)]
    for t in trials:
        run = runs[Path(t.user_attrs["run_dir"]).name]
        assert run.status == ("pruned" if t.state.name == "PRUNED" else "finished")
        assert run.final["val_accuracy"] == pytest.approx(t.value)
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"

    # the same command with more trials continues the study, with new draws
    assert sweep(specs["moons"], out, "--trials", "10", "--sampler", "random") == 0
    trials = optuna.load_study(study_name="sw", storage=f"sqlite:///{out / 'sweep.db'}").get_trials()
    assert len(trials) == 10 and len(find_runs(out)) == 10
    first = {t.params["train.optimizer.lr"] for t in trials[:8]}
    assert not {t.params["train.optimizer.lr"] for t in trials[8:]} & first
    # and refuses to mix other settings into it
    capsys.readouterr()
    assert cli.main(["sweep", specs["moons"], "--out", str(out), "--quiet", "--trials", "11",
                     "--param", "train.batch=choice(4, 8)"]) == 2
    assert "was started with other settings" in capsys.readouterr().err


def test_workers_are_separate_processes_sharing_one_storage(specs, tmp_path):
    out, db = tmp_path / "sw", tmp_path / "elsewhere.db"
    assert sweep(specs["xor"], out, "--trials", "4", "--workers", "2", "--storage", f"sqlite:///{db}",
                 "--metric", "train_loss", "--pruner", "none") == 0
    trials = optuna.load_study(study_name="sw", storage=f"sqlite:///{db}").get_trials()
    assert 4 <= len(trials) <= 5 and all(t.state.name == "COMPLETE" for t in trials)
    assert not (out / "sweep.db").exists()
    pids = {json.loads((Path(t.user_attrs["run_dir"]) / "manifest.json").read_text())["pid"] for t in trials}
    assert os.getpid() not in pids


def test_grid_needs_choices_and_errors_exit_2(specs, tmp_path, capsys):
    assert sweep(specs["xor"], tmp_path / "g", "--trials", "2", "--sampler", "grid") == 2
    assert "--sampler grid needs choice(...)" in capsys.readouterr().err
    assert cli.main(["sweep", specs["xor"], "--out", str(tmp_path / "b"), "--param", "train.batch=choice(0)"]) == 2
    assert "batch" in capsys.readouterr().err


def test_a_diverging_trial_fails_and_the_sweep_goes_on(specs, tmp_path, capsys):
    out = tmp_path / "sw"
    assert cli.main(["sweep", specs["diverges"], "--out", str(out), "--quiet", "--trials", "2",
                     "--param", "train.optimizer.lr=choice(10000.0, 0.001)", "--sampler", "grid"]) == 0
    text = capsys.readouterr().out
    assert "1 complete, 0 pruned, 1 failed" in text and "diverged" in text
    assert sorted(r.status for r in find_runs(out)) == ["diverged", "finished"]


def test_an_unknown_metric_is_refused_before_any_trial(specs, tmp_path, capsys):
    assert sweep(specs["moons"], tmp_path / "sw", "--metric", "val_acuracy") == 2
    err = capsys.readouterr().err
    assert "--metric val_acuracy" in err and "val_accuracy" in err
    assert not (tmp_path / "sw").exists()
