"""TensorBoard events in the run directory, read back with TensorBoard's own reader."""
from __future__ import annotations

import io

import pytest

from specc.driver import Interrupted, Trainer
from specc.frontend import compile_file

from .conftest import train

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator",
                                        reason="the tensorboard extra (pip install 'specc[tensorboard]')")


def read_events(run_dir):
    acc = event_accumulator.EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_scalars_lr_test_metrics_and_spec_text(specs, tmp_path):
    out = tmp_path / "run"
    assert train(specs["moons"], out) == 0
    acc = read_events(out)
    tags = set(acc.Tags()["scalars"])
    assert {"train_loss", "val_loss", "val_accuracy", "lr", "samples_per_s", "test_loss",
            "test_accuracy"} <= tags
    import json

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    got = scalars(acc, "val_loss")
    assert [s for s, _ in got] == [r["step"] for r in rows] == [6, 12, 18, 24, 30, 36]
    assert [v for _, v in got] == pytest.approx([r["val_loss"] for r in rows], rel=1e-6)
    assert [v for _, v in scalars(acc, "lr")] == pytest.approx([0.01] * 6)
    manifest = json.loads((out / "manifest.json").read_text())
    assert scalars(acc, "test_accuracy") == [(36, pytest.approx(manifest["result"]["test"]["accuracy"]))]
    # the spec as text (tensor plugin data in TensorBoard's reader)
    text = acc.Tensors("spec/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "optimizer = adam(lr=0.01)" in text


def test_resume_continues_the_curves_without_doubling_steps(specs, tmp_path):
    program = compile_file(specs["moons"])
    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        Trainer(program, out=out, interrupt_after=20, handle_signals=False).run()
    Trainer(program, resume=out, handle_signals=False).run()
    acc = read_events(out)
    steps = [s for s, _ in scalars(acc, "train_loss")]
    assert steps == [6, 12, 18, 24, 30, 36]


def test_force_removes_the_previous_runs_events(specs, tmp_path):
    out = tmp_path / "run"
    assert train(specs["xor"], out) == 0
    assert train(specs["xor"], out, "train.epochs=3") == 2  # refused without --force
    from specc import cli

    assert cli.main(["train", specs["xor"], "--out", str(out), "--quiet", "--force", "--set", "train.epochs=3"]) == 0
    assert len(list(out.glob("events.out.tfevents.*"))) == 1
    assert [s for s, _ in scalars(read_events(out), "train_loss")] == [1, 2, 3]


def test_without_tensorboard_a_run_still_trains(specs, tmp_path, monkeypatch):
    import specc.tensorboard

    monkeypatch.setattr(specc.tensorboard, "available", lambda: False)
    assert train(specs["xor"], tmp_path / "r") == 0
    assert not list((tmp_path / "r").glob("events.out.tfevents.*"))
    assert (tmp_path / "r" / "weights.npz").exists()
