"""Run directories are claimed atomically: racing `specc train` processes never share one (issue 17, item 1).

The races use real processes started together. The spec loads a few hundred
thousand generated samples, so without an atomic claim every racer would pass
the "previous run?" check during that window and write into the same directory.
"""
import subprocess
import sys

import pytest

from specc import claim, rundir
from specc.errors import SpecError

SLOW_LOAD = """\
model racer {
    input x [20]
    dense(2)
    softmax
}
data { source = blobs(n=300000, dim=20, centers=2); split = [1.0, 0.0, 0.0] }
train { loss = cross_entropy; optimizer = sgd(lr=0.1); batch = 64; steps = 2; seed = 0 }
"""
RACERS = 3


def _race(spec, cwd, *extra):
    cmd = [sys.executable, "-m", "specc", "train", str(spec), "--quiet", *map(str, extra)]
    procs = [subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(RACERS)]
    return [(p.wait(timeout=120), *p.communicate()) for p in procs]


@pytest.fixture
def racer_spec(tmp_path):
    path = tmp_path / "racer.nn"
    path.write_text(SLOW_LOAD)
    return path


def test_racing_runs_with_one_out_directory_leave_one_winner(racer_spec, tmp_path):
    out = tmp_path / "run"
    results = _race(racer_spec, tmp_path, "--out", out)
    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [2] * (RACERS - 1), results
    for code, _out, err in results:
        if code == 2:  # the losers name the directory and the winner, without a traceback
            assert str(out) in err and "Traceback" not in err
            assert "claimed by another specc train (pid" in err or "already holds a training run" in err
    manifest = rundir.read_manifest(out)
    assert manifest["result"]["steps"] == 2


def test_racing_runs_with_default_names_get_one_directory_each(racer_spec, tmp_path):
    results = _race(racer_spec, tmp_path)
    assert [code for code, _, _ in results] == [0] * RACERS, results
    dirs = sorted((tmp_path / "runs").iterdir())
    assert len(dirs) == RACERS  # e.g. racer-<stamp>, racer-<stamp>-2, racer-<stamp>-3 when they share a second
    reported = {err_out.split("run directory")[-1].strip() for _, err_out, _ in results}
    assert len(reported) == RACERS
    for d in dirs:
        assert rundir.read_manifest(d)["result"]["steps"] == 2


def test_a_claimed_directory_is_refused_while_its_lock_exists(tmp_path):
    out = tmp_path / "run"
    lock, previous = claim.claim_out(out, force=False, markers=rundir.RUN_MARKERS, run_files=rundir.RUN_FILES)
    try:
        assert previous == []
        with pytest.raises(SpecError, match="already holds a training run"):
            claim.claim_out(out, force=False, markers=rundir.RUN_MARKERS, run_files=rundir.RUN_FILES)
        # --force cannot take a directory whose writer is still running (it holds the flock)
        with pytest.raises(SpecError, match="is in use: another specc train"):
            claim.claim_out(out, force=True, markers=rundir.RUN_MARKERS, run_files=rundir.RUN_FILES)
        with pytest.raises(SpecError, match="is in use"):
            claim.claim_resume(out)
    finally:
        lock.release()
    claim.claim_resume(out).release()  # a finished (or dead) writer leaves the run free to resume


def test_default_names_are_claimed_with_mkdir_and_numbered(tmp_path):
    import datetime

    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    first, lock1 = claim.claim_default("m", tmp_path, now)
    second, lock2 = claim.claim_default("m", tmp_path, now)
    assert (first.name, second.name) == ("m-20260102-030405", "m-20260102-030405-2")
    lock1.release()
    lock2.release()
