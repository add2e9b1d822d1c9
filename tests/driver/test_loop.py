"""The shared training loop, driven with a fake backend (tests/driver/conftest.py)."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

from specc import driver, rundir, runfiles
from specc.checkpoint import load_checkpoint
from specc.earlystop import monitor_mode
from specc.errors import SpecError
from specc.rng import stream


def run(fake, tmp_path, program=None, data=None, name="run", **kw):
    """Train with the fake backend; keywords the driver does not know go to the backend as options."""
    known = {k: kw.pop(k) for k in ("interrupt_after", "handle_signals", "checkpoint_every") if k in kw}
    known.setdefault("handle_signals", False)
    return driver.train(program or fake.program(), backend=fake.Backend, out=tmp_path / name,
                        data=data or fake.data(), options=kw, **known)


def test_batches_cover_each_epoch_in_the_seeded_order(fake, tmp_path):
    result = run(fake, tmp_path)
    be = fake.Backend.instances[-1]
    # 10 samples, batch 4: three steps per epoch, the last one partial
    assert [(s, e) for s, e, _, _ in be.calls.steps] == [(0, 4), (4, 8), (8, 10)] * 3
    assert [st for *_, st in be.calls.steps] == list(range(9))
    assert all(lr == pytest.approx(0.05) for _, _, lr, _ in be.calls.steps)  # constant schedule
    for epoch, order in enumerate(be.calls.orders):
        assert np.array_equal(order, stream(7, "shuffle", epoch).permutation(10))
    assert len(be.calls.orders) == 3
    assert result.steps == 9 and result.epochs == 3 and len(result.history) == 3
    assert result.history[0]["train_loss"] > result.history[-1]["train_loss"]  # it learns


def test_no_shuffle_keeps_file_order(fake, tmp_path):
    run(fake, tmp_path, program=fake.program(shuffle=False))
    be = fake.Backend.instances[-1]
    assert all(np.array_equal(o, np.arange(10)) for o in be.calls.orders)


def test_losses_are_converted_in_groups(fake, tmp_path):
    # 100 samples, batch 1: 100 steps per epoch -> groups of SYNC_EVERY, never one per step
    run(fake, tmp_path, program=fake.program(batch=1, epochs=1), data=fake.data(n_train=100))
    groups = fake.Backend.instances[-1].calls.groups
    assert sum(groups) == 100
    assert groups == [driver.SYNC_EVERY] * (100 // driver.SYNC_EVERY)


def test_steps_cross_epoch_boundaries(fake, tmp_path):
    result = run(fake, tmp_path, program=fake.program(epochs=None, steps=7))
    be = fake.Backend.instances[-1]
    assert len(be.calls.steps) == 7
    assert len(be.calls.orders) == 3  # epochs 0 and 1 complete, epoch 2 one step in
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert result.history[-1]["partial"] is True and result.history[-1]["step"] == 7


def test_early_stopping_restores_the_best_weights(fake, tmp_path):
    program = fake.program(epochs=10, early_stop=fake.EarlyStop(2, "val_loss", 0.0))
    result = run(fake, tmp_path, program=program, val_losses=[1.0, 0.5, 0.7, 0.8, 0.9, 0.1])
    be = fake.Backend.instances[-1]
    assert result.stopped_early and result.epochs == 4  # epochs 3 and 4 did not improve: patience 2
    assert result.best_epoch == 2 and result.best_value == 0.5
    best = be.calls.evaluations[1][1]  # the parameters evaluated at the end of epoch 2
    for k, v in result.params.items():
        np.testing.assert_array_equal(v, best[k].astype(np.float32))
    saved = np.load(result.run_dir / "weights.npz")
    np.testing.assert_array_equal(saved["dense_1.weight"], best["dense_1.weight"].astype(np.float32))
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["result"]["best_epoch"] == 2 and manifest["result"]["stopped_early"] is True


def test_min_delta_and_max_mode(fake, tmp_path):
    assert monitor_mode("val_loss") == "min" and monitor_mode("val_accuracy") == "max"
    program = fake.program(epochs=10, early_stop=fake.EarlyStop(1, "val_loss", 0.1))
    result = run(fake, tmp_path, program=program, val_losses=[1.0, 0.95, 0.5])
    assert result.epochs == 2 and result.best_epoch == 1  # 0.95 is not better by more than 0.1


def test_early_stop_on_val_needs_a_val_split_in_the_data_given(fake, tmp_path):
    """The front end checks the monitor's name (tests/frontend/err/early_stop_unknown_monitor); data passed
    as arrays is only seen here."""
    program = fake.program(early_stop=fake.EarlyStop(2, "val_loss"))
    with pytest.raises(SpecError, match="no validation split"):
        run(fake, tmp_path, program=program, data=fake.data(n_val=0))


def test_nonfinite_loss_names_step_and_layer_and_keeps_checkpoint(fake, tmp_path):
    program = fake.program(epochs=10)
    with pytest.raises(driver.NonFiniteLoss) as info:
        run(fake, tmp_path, program=program, nan_at=12, checkpoint_every=0)  # update 12 = step 13, epoch 5
    message = info.value.render()
    assert "step 13" in message and "epoch 5" in message and "dense_1" in message
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert ckpt.meta["step"] == 12  # written at the end of epoch 4, before the NaN
    assert all(np.isfinite(v).all() for v in ckpt.params.values())
    assert info.value.exit_code == 3


def test_nonfinite_weights_are_never_checkpointed(fake, tmp_path):
    with pytest.raises(driver.NonFiniteLoss, match=r"parameter dense_1.weight became non-finite at step 6 .*step 3\)"):
        run(fake, tmp_path, program=fake.program(epochs=10), poison_at=5, checkpoint_every=0)  # end of epoch 2
    ckpt = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert ckpt.meta["step"] == 3 and all(np.isfinite(v).all() for v in ckpt.params.values())


@pytest.mark.parametrize("every, expected", [(0, 4), (1e9, 2)])
def test_epoch_checkpoints_are_throttled_by_time(fake, tmp_path, monkeypatch, every, expected):
    saved = []
    monkeypatch.setattr(runfiles, "save_checkpoint", lambda path, ckpt: saved.append(ckpt.meta["step"]))
    run(fake, tmp_path, checkpoint_every=every)
    # every epoch end + the final one; throttled: only the first epoch end (none before it) + the final one
    assert len(saved) == expected and saved[0] == 3 and saved[-1] == 9


def test_nan_inside_a_group_is_reported_at_its_own_step(fake, tmp_path):
    program = fake.program(batch=1, epochs=1)
    with pytest.raises(driver.NonFiniteLoss, match="step 6 "):
        run(fake, tmp_path, program=program, data=fake.data(n_train=100), nan_at=5)


def test_run_directory_contents(fake, tmp_path):
    result = run(fake, tmp_path)
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"weights.npz", "spec.nn", "preprocess.npz", "classes.json", "metrics.csv", "metrics.jsonl",
            "curves.png", "checkpoint.npz", "manifest.json"} <= names
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".") and n != rundir.LOCK]
    header = (result.run_dir / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == ["epoch", "step", "lr", "train_loss", "val_loss", "val_mse", "time", "samples_per_s"]
    rows = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and [r["step"] for r in rows] == [3, 6, 9]
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["spec_hash"].startswith("sha256:") and manifest["seed"] == 7
    assert manifest["versions"]["numpy"] == np.__version__
    assert result.test is not None and set(result.test) == {"loss", "mse"}
    assert (result.run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_the_main_process_writes(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")  # torchrun's rank: set before the run directory is claimed
    result = run(fake, tmp_path, main=False)  # e.g. rank 1 under torchrun
    assert result.steps == 9 and (not result.run_dir.exists() or list(result.run_dir.iterdir()) == [])


def test_unwritable_output_is_reported_before_training(fake, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(SpecError, match="cannot write to output directory"):
        driver.train(fake.program(), backend=fake.Backend, out=blocker / "run", data=fake.data(),
                     handle_signals=False)
    with pytest.raises(SpecError, match="not a directory"):
        driver.train(fake.program(), backend=fake.Backend, out=blocker, data=fake.data(), handle_signals=False)
    assert fake.Backend.instances == []  # no backend was built, nothing trained


def test_a_failed_start_leaves_no_empty_run_directory(fake, tmp_path):
    from specc.errors import DataError

    data = fake.data()
    data.train.x = data.train.x[:0]
    with pytest.raises(DataError, match="training split is empty"):
        driver.train(fake.program(), backend=fake.Backend, out=tmp_path / "run", data=data, handle_signals=False)
    assert not (tmp_path / "run").exists()


def test_unknown_backend(fake, tmp_path):
    with pytest.raises(SpecError, match="unknown backend 'numpi'") as info:
        driver.train(fake.program(), backend="numpi", out=tmp_path / "run", data=fake.data())
    assert "numpy" in info.value.render() and not (tmp_path / "run").exists()


def test_default_run_dir_name(tmp_path):
    import datetime as dt

    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    assert rundir.default_run_dir("mlp", now, root=tmp_path).name == "mlp-20260102-030405"
    (tmp_path / "mlp-20260102-030405").mkdir()
    assert rundir.default_run_dir("mlp", now, root=tmp_path).name == "mlp-20260102-030405-2"


# ---------------------------------------------------------------- interrupt and resume

def _strip_time(history):
    return [{k: v for k, v in r.items() if k not in ("time", "samples_per_s")} for r in history]


@pytest.mark.parametrize("stop_at", [5, 6, 1])  # mid-epoch, exactly at an epoch end, first step
def test_resume_after_interrupt_matches_uninterrupted_run(fake, tmp_path, stop_at):
    program = fake.program(epochs=4)
    full = run(fake, tmp_path, program=program, name="full")
    with pytest.raises(driver.Interrupted) as info:
        run(fake, tmp_path, program=program, name="cut", interrupt_after=stop_at)
    assert info.value.step == stop_at
    ckpt = load_checkpoint(tmp_path / "cut" / "checkpoint.npz")
    assert ckpt.meta["step"] == stop_at and ckpt.meta["pos"] == stop_at % 3
    resumed = driver.train(program, backend=fake.Backend, resume=tmp_path / "cut", data=fake.data(),
                           handle_signals=False)
    for k in full.params:
        np.testing.assert_array_equal(resumed.params[k], full.params[k])  # bit for bit: same arithmetic
    assert _strip_time(resumed.history) == _strip_time(full.history)
    assert resumed.steps == full.steps


def test_sigint_finishes_the_step_and_checkpoints(fake, tmp_path):
    def on_step(step):
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(driver.Interrupted) as info:
        run(fake, tmp_path, handle_signals=True, on_step=on_step)
    assert info.value.step == 5  # update 4 (0-based) completed: five steps done
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz").meta["step"] == 5


def test_resume_refuses_a_different_spec(fake, tmp_path):
    with pytest.raises(driver.Interrupted):
        run(fake, tmp_path, interrupt_after=2)
    changed = fake.program(optimizer=fake.Spec("sgd", {"lr": 0.5, "momentum": 0.9}))
    with pytest.raises(SpecError, match="spec differs"):
        driver.train(changed, backend=fake.Backend, resume=tmp_path / "run", data=fake.data(), handle_signals=False)


def test_resume_needs_a_run_directory(fake, tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        driver.train(fake.program(), backend=fake.Backend, resume=tmp_path / "nope", data=fake.data())
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="not a specc run directory"):
        driver.train(fake.program(), backend=fake.Backend, resume=tmp_path / "empty", data=fake.data())


def test_spec_hash_ignores_positions_but_not_values(fake):
    from specc.ir import Pos

    a = fake.program()
    b = fake.program(pos=Pos("other.nn", 3, 4))
    c = fake.program(batch=5)
    assert rundir.spec_hash(a) == rundir.spec_hash(b) != rundir.spec_hash(c)
