"""Atomic .npz writes and clear errors for damaged files."""
from __future__ import annotations

import numpy as np
import pytest

from specc import checkpoint
from specc.checkpoint import Checkpoint, load_checkpoint, load_npz, save_checkpoint, save_npz
from specc.errors import SpecError


def test_roundtrip_keeps_dtypes_and_meta(tmp_path):
    ckpt = Checkpoint({"d.weight": np.ones((2, 3), np.float32)}, {"step": np.array(4), "d.weight.exp_avg": np.zeros(3)},
                      {"step": 4, "history": [{"epoch": 1, "val_loss": 0.5}]},
                      {"d.weight": np.zeros((2, 3), np.float32)})
    save_checkpoint(tmp_path / "c.npz", ckpt)
    back = load_checkpoint(tmp_path / "c.npz")
    assert back.params["d.weight"].dtype == np.float32 and int(back.optimizer["step"]) == 4
    assert back.meta["history"] == [{"epoch": 1, "val_loss": 0.5}]
    assert back.meta["version"] == checkpoint.CHECKPOINT_VERSION
    np.testing.assert_array_equal(back.best["d.weight"], 0)


def test_a_failed_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save_npz(path, {"a": np.arange(3)})

    def crash(f, **arrays):  # write half an archive, then die (disk full, Ctrl-C, ...)
        f.write(b"PK\x03\x04 half")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_npz(path, {"a": np.arange(5)})
    monkeypatch.undo()
    np.testing.assert_array_equal(load_npz(path)["a"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]  # the temp file was removed


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_files_give_a_clear_error(tmp_path, damage):
    path = tmp_path / "c.npz"
    save_npz(path, {"a": np.arange(1000)})
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a zip" * 10, "empty": b""}[damage])
    with pytest.raises(SpecError, match="truncated or corrupt"):
        load_checkpoint(path)


def test_pickled_arrays_are_refused(tmp_path):
    path = tmp_path / "p.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(SpecError, match="pickled Python objects"):
        load_npz(path)


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_npz(tmp_path / "nope.npz")


def test_check_weights_names_missing_and_misshaped_keys(tmp_path):
    expected = {"d.weight": np.zeros((2, 3)), "d.bias": np.zeros(2)}
    with pytest.raises(SpecError, match="missing d.bias"):
        checkpoint.check_weights({"d.weight": np.zeros((2, 3))}, expected, "w.npz")
    with pytest.raises(SpecError, match=r"d.weight has shape \[3, 2\]"):
        checkpoint.check_weights({"d.weight": np.zeros((3, 2)), "d.bias": np.zeros(2)}, expected, "w.npz")
