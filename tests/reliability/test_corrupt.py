"""A truncated or corrupt checkpoint, weights or preprocess file gives a clear error (issue 8, item 2).

Clear means: a SpecError naming the file (exit code 2 from the CLI), never a
traceback and never a silently different checkpoint.
"""
import numpy as np
import pytest

import faultlib
from specc import rundir
from specc.checkpoint import load_checkpoint


def test_damaged_checkpoints_are_refused_or_intact(tiny_run, tmp_path):
    data = (tiny_run / rundir.CHECKPOINT).read_bytes()
    original = load_checkpoint(tiny_run / rundir.CHECKPOINT)
    outcomes = {}
    path = tmp_path / rundir.CHECKPOINT
    for label, damaged in faultlib.damaged_variants(data, np.random.default_rng(3), 40):
        path.write_bytes(damaged)
        outcomes[label] = faultlib.classify_damaged(path, original)
    bad = {k: v for k, v in outcomes.items() if v not in ("refused", "intact")}
    assert not bad, bad
    assert sum(v == "refused" for v in outcomes.values()) > 0.8 * len(outcomes)


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_resume_from_a_damaged_checkpoint_exits_2_naming_it(cli, tiny_spec, tiny_run, damage):
    path = tiny_run / rundir.CHECKPOINT
    data = path.read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # inside the first array's data: only the CRC check can notice
        b = bytearray(data)
        b[200] ^= 0xFF
        data = bytes(b)
    else:
        data = b""
    path.write_bytes(data)
    code, out, err = cli("train", tiny_spec, "--resume", tiny_run, "--quiet")
    assert code == 2, err
    assert str(path) in err and "corrupt" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", [rundir.WEIGHTS, rundir.PREPROCESS])
def test_eval_with_a_truncated_run_file_exits_2_naming_it(cli, tiny_spec, tiny_run, name):
    path = tiny_run / name
    path.write_bytes(path.read_bytes()[:-30])
    code, out, err = cli("eval", tiny_spec, "--weights", tiny_run, "--split", "train")
    assert code == 2, err
    assert str(path) in err and "Traceback" not in err


def test_checkpoint_with_wrong_shapes_is_refused(cli, tiny_spec, tiny_run):
    """A well-formed checkpoint that does not fit the spec (e.g. copied from another run)."""
    from specc.checkpoint import save_checkpoint

    path = tiny_run / rundir.CHECKPOINT
    ckpt = load_checkpoint(path)
    ckpt.params["dense_1.weight"] = np.zeros((3, 2), np.float32)
    save_checkpoint(path, ckpt)
    code, out, err = cli("train", tiny_spec, "--resume", tiny_run, "--quiet")
    assert code == 2, err
    assert "dense_1.weight" in err and str(path) in err
