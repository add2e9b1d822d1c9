"""Unwritable, full or already-used output directories are reported before training (issue 8, item 3).

Tests run as root, where chmod does not stop writes, so "unwritable" is a path
under a regular file. "Full" is a real, filled tmpfs when this machine allows
mounting one, else the writability probe is made to fail with ENOSPC.
"""
import errno
import os
import subprocess

import pytest

import faultlib
from specc import rundir
from specc.checkpoint import load_checkpoint


def test_out_under_a_regular_file_exits_2_before_training(cli, tiny_spec, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    from specc.backends.numpy.backend import NumpyBackend

    monkeypatch.setattr(NumpyBackend, "train_step", lambda *a: pytest.fail("training started"))
    code, out, err = cli("train", tiny_spec, "--out", blocker / "sub", "--quiet")
    assert code == 2
    assert f"cannot write to output directory {blocker / 'sub'}" in err and "--out" in err


def test_probe_failing_with_enospc_names_the_cause(cli, tiny_spec, tmp_path, monkeypatch):
    def full(path, *a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(rundir, "open", full, raising=False)  # the probe's open(); data loading is untouched
    code, out, err = cli("train", tiny_spec, "--out", tmp_path / "run", "--quiet")
    assert code == 2
    assert "No space left on device" in err and str(tmp_path / "run") in err
    assert not (tmp_path / "run").exists()  # no empty run directory left behind


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs (root with mount rights only; skipped elsewhere)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (the ENOSPC probe test covers the message)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def _fill(directory, leave: int = 0):
    """Write a file until the file system is full, then free `leave` bytes."""
    path = directory / "filler"
    with open(path, "wb", buffering=0) as f:  # unbuffered: ENOSPC comes from write(), not from close()
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    if leave:
        os.truncate(path, max(0, path.stat().st_size - leave))


def test_full_tmpfs_is_reported_before_training(cli, tiny_spec, small_tmpfs):
    _fill(small_tmpfs)
    code, out, err = cli("train", tiny_spec, "--out", small_tmpfs / "run", "--quiet")
    assert code == 2
    assert "No space left on device" in err


def test_disk_filling_up_mid_run_keeps_the_last_checkpoint(cli, small_tmpfs):
    """Room for the run's first files and checkpoint, not for the growing history: exit 2, checkpoint intact."""
    spec = faultlib.write_spec(small_tmpfs.parent, faultlib.SPEC.replace("epochs = 120", "epochs = 2000"))
    _fill(small_tmpfs, leave=48 * 1024)
    out = small_tmpfs / "run"
    code, _, err = cli("train", spec, "--out", out, "--quiet")
    assert code == 2, err
    assert "No space left on device" in err and "intact" in err and "Traceback" not in err
    ckpt = load_checkpoint(out / rundir.CHECKPOINT)
    assert ckpt.meta["step"] > 0
    assert faultlib.stale_temps(out) == []


def test_out_holding_a_previous_run_is_refused(cli, tiny_spec, tiny_run):
    before = {p.name: p.read_bytes() for p in tiny_run.iterdir()}
    code, out, err = cli("train", tiny_spec, "--out", tiny_run, "--quiet")
    assert code == 2
    assert "already holds a training run" in err and f"--resume {tiny_run}" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in tiny_run.iterdir()} == before  # nothing touched


def test_force_replaces_the_previous_run(cli, tiny_spec, tiny_run):
    (tiny_run / rundir.CHECKPOINT).write_bytes(b"an old run's checkpoint")
    code, out, err = cli("train", tiny_spec, "--out", tiny_run, "--quiet", "--force", "--set", "train.epochs=1")
    assert code == 0, err
    assert load_checkpoint(tiny_run / rundir.CHECKPOINT).meta["epoch"] == 1


def test_an_existing_empty_directory_is_fine(cli, tiny_spec, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    code, _, err = cli("train", tiny_spec, "--out", out, "--quiet")
    assert code == 0, err
    assert (out / rundir.WEIGHTS).exists()


@pytest.mark.parametrize("files", [["notes.txt"], ["spec.nn"], ["metrics.csv", "data.csv"]])
def test_a_directory_of_the_users_own_files_is_refused_even_with_force(cli, tiny_spec, tmp_path, files):
    """`--out .` or a folder holding the user's spec.nn / metrics.csv: refused, nothing overwritten."""
    out = tmp_path / "mine"
    out.mkdir()
    for name in files:
        (out / name).write_text("mine")
    for force in ([], ["--force"]):
        code, _, err = cli("train", tiny_spec, "--out", out, "--quiet", *force)
        assert code == 2 and "not a run directory" in err and files[0] in err, err
        assert sorted(p.name for p in out.iterdir()) == sorted(files)
        assert all((out / name).read_text() == "mine" for name in files)
