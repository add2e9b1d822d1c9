"""A checkpoint and weights belong to their spec (issue 17, item 2).

Before: a same-shaped checkpoint of another spec was accepted on --resume,
replaced the weights and reported "15 steps" on a 6-step spec; eval/export
took same-shaped weights of another model without a word.
"""
import json
import shutil

import numpy as np

from faultlib import TINY
from specc import rundir
from specc.checkpoint import WEIGHTS_RECORD, load_checkpoint, load_npz

OTHER_MODEL = TINY.replace("    tanh\n", "    relu\n")            # same parameter shapes, another model
OTHER_LR = TINY.replace("sgd(lr=0.5", "sgd(lr=0.1")                  # same model, another training


def _train(cli, spec, out, *extra):
    code, _, err = cli("train", spec, "--out", out, "--quiet", *extra)
    assert code == 0, err
    return out


def test_a_checkpoint_copied_from_another_spec_is_refused(cli, tmp_path):
    a, b = tmp_path / "a.nn", tmp_path / "b.nn"
    a.write_text(TINY.replace("epochs = 3", "epochs = 5"))
    b.write_text(OTHER_LR.replace("epochs = 3", "steps = 6"))
    _train(cli, a, tmp_path / "ra")
    _train(cli, b, tmp_path / "rb", "--set", "train.steps=2")
    shutil.copy(tmp_path / "ra" / rundir.CHECKPOINT, tmp_path / "rb" / rundir.CHECKPOINT)
    code, _, err = cli("train", b, "--set", "train.steps=2", "--resume", tmp_path / "rb", "--quiet")
    assert code == 2 and "belongs to another spec" in err and "Traceback" not in err


def test_resume_with_another_learning_rate_is_refused(cli, tmp_path):
    a = tmp_path / "a.nn"
    a.write_text(TINY)
    _train(cli, a, tmp_path / "run")
    a.write_text(OTHER_LR)
    code, _, err = cli("train", a, "--resume", tmp_path / "run", "--quiet")
    assert code == 2 and "the spec differs" in err and "train.epochs" in err


def test_continuing_with_a_longer_schedule_is_allowed_and_recorded(cli, tmp_path):
    a = tmp_path / "a.nn"
    a.write_text(TINY)  # 16 samples, batch 4: 4 steps per epoch, 3 epochs
    run = _train(cli, a, tmp_path / "run")
    code, out, err = cli("train", a, "--resume", run, "--set", "train.epochs=5", "--quiet")
    assert code == 0, err
    assert "20 steps, 5 epochs" in out
    manifest = rundir.read_manifest(run)
    assert manifest["continued"] == [{"at_step": 12, "changed": {"epochs": [3, 5]},
                                      "spec_hash": manifest["spec_hash"], "total_steps": 20}]
    assert manifest["result"]["steps"] == 20 and manifest["schedule"]["epochs"] == 5
    # the continued run resumes again under its new schedule without another record
    code, out, err = cli("train", a, "--resume", run, "--set", "train.epochs=5", "--quiet")
    assert code == 0, err
    assert len(rundir.read_manifest(run)["continued"]) == 1


def test_checkpoint_and_weights_carry_the_spec_hash_and_parameter_shapes(cli, tmp_path):
    a = tmp_path / "a.nn"
    a.write_text(TINY)
    run = _train(cli, a, tmp_path / "run")
    manifest = rundir.read_manifest(run)
    meta = load_checkpoint(run / rundir.CHECKPOINT).meta
    assert meta["spec_hash"] == manifest["spec_hash"] and meta["resume_hash"] == manifest["resume_hash"]
    record = json.loads(load_npz(run / rundir.WEIGHTS)[WEIGHTS_RECORD].tobytes())
    assert record["spec_hash"] == manifest["spec_hash"] and record["model_hash"] == manifest["model_hash"]
    assert record["params"] == {"dense_1.weight": [4, 2], "dense_1.bias": [4], "dense_2.weight": [1, 4],
                                "dense_2.bias": [1]}


def test_eval_and_export_refuse_weights_of_another_model(cli, tmp_path):
    a, other = tmp_path / "a.nn", tmp_path / "other.nn"
    a.write_text(TINY)
    other.write_text(OTHER_MODEL)
    run = _train(cli, a, tmp_path / "run")
    code, _, err = cli("eval", other, "--weights", run, "--split", "train")
    assert code == 2 and "belongs to another model" in err
    code, _, err = cli("export", other, "--weights", run, "-o", tmp_path / "m.onnx")
    assert code == 2 and "belongs to another model" in err and not (tmp_path / "m.onnx").exists()
    # the same model with other training settings is the same model: its weights evaluate and export
    lr = tmp_path / "lr.nn"
    lr.write_text(OTHER_LR)
    assert cli("eval", lr, "--weights", run, "--split", "train")[0] == 0
    assert cli("export", lr, "--weights", run, "-o", tmp_path / "m.onnx")[0] == 0


def test_string_arrays_in_weights_are_a_clear_error(cli, tmp_path):
    a = tmp_path / "a.nn"
    a.write_text(TINY)
    run = tmp_path / "run"
    _train(cli, a, run)
    arrays = {k: v for k, v in np.load(run / rundir.WEIGHTS).items()}
    arrays["dense_1.weight"] = np.array([["a", "b"]] * 4)
    np.savez(run / rundir.WEIGHTS, **arrays)
    for cmd in (("eval", a, "--weights", run, "--split", "train"), ("export", a, "--weights", run, "-o", tmp_path / "m.onnx")):
        code, _, err = cli(*cmd)
        assert code == 2 and "not numbers" in err and "Traceback" not in err, err


def test_verify_refuses_weights_of_another_model(cli, tmp_path):
    import pytest

    pytest.importorskip("torch")
    a, other = tmp_path / "a.nn", tmp_path / "other.nn"
    a.write_text(TINY)
    other.write_text(OTHER_MODEL)
    run = _train(cli, a, tmp_path / "run")
    code, _, err = cli("verify", other, "--weights", run, "--no-onnx")
    assert code == 2 and "belongs to another model" in err, err
    code, _, err = cli("verify", a, "--weights", run, "--no-onnx")
    assert code == 0, err
