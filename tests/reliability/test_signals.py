"""SIGINT / SIGTERM / SIGKILL sent to a real `specc train` process, then resumed (issue 8, item 2).

Each test trains the signal spec (faultlib.SPEC, 6000 steps, 50 per epoch) in
a subprocess, sends the signal while the loop runs, and resumes. The resumed
run must end with weights bitwise equal to the uninterrupted reference run:
the NumPy backend is deterministic and a checkpoint stores float32 weights,
optimizer state, position and RNG-relevant counters exactly, so no tolerance.
"""
import signal

import pytest

import faultlib
from specc import rundir
from specc.checkpoint import load_checkpoint


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_run_checkpoints_exits_130_and_resumes_identically(sig_spec, reference, tmp_path, sig):
    r = faultlib.interrupt_and_resume(sig_spec, tmp_path / "run", reference, sig, delay=0.25)
    assert r["interrupted"], "the run finished before the signal; the spec must train longer"
    assert r["rc"] == 130
    # the message carries the exact resume command (interrupt_and_resume ran it)
    assert f"--resume {tmp_path / 'run'}" in r["stderr"]
    assert r["step"] > 0
    assert r["identical"]


def test_signal_before_the_first_step_still_checkpoints(sig_spec, reference, tmp_path):
    """A signal right at the start (often while data and backend are still loading) stops at step 0."""
    r = faultlib.interrupt_and_resume(sig_spec, tmp_path / "run", reference, signal.SIGTERM, delay=0.0)
    assert r["rc"] == 130
    assert r["identical"]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_ends_identically(sig_spec, reference, tmp_path):
    r = faultlib.kill_and_resume(sig_spec, tmp_path / "run", reference, delay=0.15)
    assert r["killed"], "the run finished before SIGKILL; the spec must train longer"
    assert r["identical"]
    assert r["stale_temps"] == 0  # litter from a write the kill cut short is removed on resume


def test_interrupt_message_and_checkpoint_in_process(cli, tiny_spec, tmp_path, monkeypatch):
    """The CLI path with a signal raised from inside a step (no subprocess): message, code, checkpoint."""
    import os

    from specc.backends.numpy.backend import NumpyBackend

    real_step = NumpyBackend.train_step

    def step(self, start, stop, lr, step):
        if step == 5:  # mid-epoch (4 steps an epoch)
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(self, start, stop, lr, step)

    monkeypatch.setattr(NumpyBackend, "train_step", step)
    out = tmp_path / "int"
    code, _, err = cli("train", tiny_spec, "--out", out, "--quiet")
    assert code == 130
    assert "interrupted at step 6; resume with: specc train" in err and f"--resume {out}" in err
    ckpt = load_checkpoint(out / rundir.CHECKPOINT)
    assert (ckpt.meta["step"], ckpt.meta["epoch"], ckpt.meta["pos"]) == (6, 1, 2)


def test_signal_while_data_loads_stops_at_step_0_with_a_checkpoint(cli, tiny_spec, tmp_path, monkeypatch):
    """Before Trainer.run installs its handlers, the train command already holds the signal."""
    import os

    import specc.data

    real_load = specc.data.load_data

    def load(program, *a, **k):
        os.kill(os.getpid(), signal.SIGTERM)  # would kill the process without the command's handler
        return real_load(program, *a, **k)

    monkeypatch.setattr(specc.data, "load_data", load)
    out = tmp_path / "early"
    code, _, err = cli("train", tiny_spec, "--out", out, "--quiet")
    assert code == 130, err
    assert "interrupted at step 0" in err
    assert load_checkpoint(out / rundir.CHECKPOINT).meta["step"] == 0
    monkeypatch.undo()
    code, _, err = cli("train", tiny_spec, "--resume", out, "--quiet")
    assert code == 0, err


def test_signal_after_training_finished_changes_nothing(cli, tiny_spec, tmp_path, monkeypatch):
    import os

    from specc.driver import Trainer

    real_run = Trainer.run

    def run(self):
        result = real_run(self)
        os.kill(os.getpid(), signal.SIGTERM)  # after run() restored its handlers: everything is saved
        return result

    monkeypatch.setattr(Trainer, "run", run)
    code, out, err = cli("train", tiny_spec, "--out", tmp_path / "late", "--quiet")
    assert code == 0, err
    assert "trained tiny" in out


def test_summary_shows_train_metrics_without_val_or_test_split(cli, tiny_spec, tmp_path):
    """No val split: the epoch rows get train_<metric> from an eval pass, and the summary prints it."""
    import json

    code, out, err = cli("train", tiny_spec, "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    assert "last train      train_accuracy" in out
    rows = [json.loads(line) for line in (tmp_path / "run" / rundir.METRICS_JSONL).read_text().splitlines()]
    assert all(0.0 <= r["train_accuracy"] <= 1.0 for r in rows)


def test_resume_without_a_checkpoint_suggests_starting_over(cli, tiny_spec, tiny_run):
    (tiny_run / rundir.CHECKPOINT).unlink()
    code, _, err = cli("train", tiny_spec, "--resume", tiny_run, "--quiet")
    assert code == 2 and "no checkpoint.npz" in err and "--force" in err
    code, _, err = cli("train", tiny_spec, "--out", tiny_run, "--force", "--quiet")
    assert code == 0, err
