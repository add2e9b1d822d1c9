"""SIGKILL during checkpoint writes never leaves a corrupt checkpoint (issue 8, item 2).

A forked child writes checkpoints in a loop (each one a pure function of its
step, so a torn mix of two writes would not pass verification) and is killed
at a random moment; after every kill the file must load and be the previous
good checkpoint or a newer complete one.
"""
import numpy as np
import pytest

import faultlib
from specc import checkpoint, rundir


def test_fifty_sigkills_during_checkpoint_writes_leave_a_good_file(tmp_path):
    counts = faultlib.kill_checkpoint_writers(tmp_path, 50, np.random.default_rng(8))
    assert counts["kills"] == 50
    assert counts["corrupt"] == 0 and counts["went_back"] == 0, counts
    # the kills really landed inside writes (their temp files were left), and writes did complete
    assert counts["mid_write"] >= 1 and counts["advanced"] >= 1, counts


def test_the_check_catches_a_writer_that_is_not_atomic(tmp_path, monkeypatch):
    """The same harness against a naive in-place writer finds torn files, so the test above can fail."""

    def naive_save_npz(path, arrays):
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    monkeypatch.setattr(checkpoint, "save_npz", naive_save_npz)
    counts = faultlib.kill_checkpoint_writers(tmp_path, 30, np.random.default_rng(9), max_delay=0.03)
    assert counts["corrupt"] > 0, counts


def test_stale_temp_files_are_removed_when_a_run_directory_is_opened(tmp_path):
    (tmp_path / ".checkpoint.npz.k2j4.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / ".metrics.csv.x9.tmp").write_bytes(b"")
    (tmp_path / ".notes.txt.tmp").write_text("not ours")
    (tmp_path / rundir.CHECKPOINT).write_bytes(b"kept")
    rundir.prepare(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.txt.tmp", rundir.CHECKPOINT]


@pytest.mark.parametrize("when", ["rename", "write"])
def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch, when):
    """An exception inside save (what SIGINT's KeyboardInterrupt would be) leaves the old file and no litter."""
    path = tmp_path / rundir.CHECKPOINT
    checkpoint.save_checkpoint(path, faultlib._checkpoint_for(1, 4096))

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.os, "replace" if when == "rename" else "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_checkpoint(path, faultlib._checkpoint_for(2, 4096))
    monkeypatch.undo()
    assert faultlib.verify_writer_checkpoint(path) == 1
    assert faultlib.stale_temps(tmp_path) == []
