"""The driver under torchrun (2 CPU processes, gloo): batchnorm, early stopping, failures.

Each test starts `python -m torch.distributed.run` with ddp_driver_worker.py, as
a user would start `torchrun ... -m specc train`.
"""
import contextlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from gloo import free_port, require_gloo  # noqa: E402

torch = require_gloo()

import ddp_driver_worker as worker  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))



def _torchrun(out, case, timeout=120):
    """(exit code, wall time at exit, output) of a 2-process torchrun of the worker.

    torchrun starts each worker in a session of its own: on a timeout the workers
    (pids in <out>/pid<R>) are killed too, and the output goes to a file, whose
    end does not wait for them.
    """
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
           "--monitor_interval=0.2", os.path.join(HERE, "ddp_driver_worker.py"), str(out), case]
    log = out / "torchrun.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=f, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for pid_file in [*out.glob("pid*")]:
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
            proc.kill()
            proc.wait()
            pytest.fail(f"torchrun still running after {timeout} s (a hang):\n{log.read_text(errors='replace')}")
    return proc.returncode, time.time(), log.read_text(errors="replace")


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory):
    """One torchrun for the cases that end normally: (exit code, output, results of a case)."""
    out = tmp_path_factory.mktemp("ddp_driver")
    rc, _, output = _torchrun(out, "plain,skewed_val,accumulate")
    return rc, output, lambda case: [dict(np.load(out / case / f"result{r}.npz", allow_pickle=False))
                                     for r in range(2)]


def test_batchnorm_and_early_stopping_under_ddp_match_one_process(finished_runs, tmp_path):
    rc, output, results = finished_runs
    assert rc == 0, output
    ranks = results("plain")
    worker.main(str(tmp_path), "plain")
    ref = dict(np.load(tmp_path / "plain" / "result0.npz", allow_pickle=False))
    assert bool(ref["stopped_early"]) and int(ref["epochs"]) < 40  # the case exercises early stopping
    for r in ranks:
        assert int(r["epochs"]) == int(ref["epochs"]) and bool(r["stopped_early"])
        for k, v in ref.items():  # float64: only the order of the sums differs
            np.testing.assert_allclose(r[k], v, rtol=1e-9, atol=1e-12, err_msg=k)


def test_ranks_that_see_different_validation_losses_stop_together(finished_runs):
    """Without a shared decision rank 1 stops early and rank 0 waits in its next all-reduce."""
    rc, output, results = finished_runs
    assert rc == 0, output
    ranks = results("skewed_val")
    assert int(ranks[0]["epochs"]) == int(ranks[1]["epochs"])


def test_accumulation_under_ddp_is_one_process_with_the_whole_batch(finished_runs, tmp_path):
    """accumulate = 2 on 2 ranks (each rank's shard in micro-batches, one all-reduce per step) ends
    with the weights of one process training on batches of batch x accumulate."""
    rc, output, results = finished_runs
    assert rc == 0, output
    worker.main(str(tmp_path), "big")
    ref = dict(np.load(tmp_path / "big" / "result0.npz", allow_pickle=False))
    for r in results("accumulate"):
        for k, v in ref.items():
            np.testing.assert_allclose(r[k], v, rtol=1e-9, atol=1e-12, err_msg=k)


def test_a_rank_that_raises_ends_the_whole_run_quickly(tmp_path):
    """Rank 0 fails at step 20 while rank 1 is in a gradient all-reduce: torchrun must exit
    non-zero in seconds, not after the collective timeout (10-30 minutes). gloo notices
    the closed connection; over NCCL torchrun stops rank 1 (SIGTERM, SIGKILL after 30 s)."""
    limit = 30 if worker.DEVICE == "cpu" else 60
    rc, ended, output = _torchrun(tmp_path, "fail", timeout=120 + limit)  # start-up is slow on a busy machine
    assert rc != 0, output
    assert "No space left on device" in output
    failed = float((tmp_path / "fail" / "failed_at").read_text())
    assert ended - failed < limit, output  # measured from the failure, not from the start
