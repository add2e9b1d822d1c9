"""DistributedDataParallel on CPU (gloo, 2 processes) equals single-process training.

Two worker processes get RANK/WORLD_SIZE/MASTER_* as torchrun would set them;
each trains on its shard of every global batch. Batches of 7 (and a final one
of 2) do not divide by 2, which exercises the loss scaling.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from gloo import free_port, require_gloo  # noqa: E402

torch = require_gloo()

import ddp_worker  # noqa: E402
from specc.backends.torch.distributed import loss_scale, shard  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))



def test_shards_cover_the_batch_and_scales_average_to_the_global_mean():
    for n, w in [(7, 2), (8, 2), (1, 2), (10, 3)]:
        parts = [shard(5, 5 + n, r, w) for r in range(w)]
        assert parts[0][0] == 5 and parts[-1][1] == 5 + n
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
        sizes = [hi - lo for lo, hi in parts]
        assert max(sizes) - min(sizes) <= 1
        # sum_r scale_r * (mean over shard r) / w == global mean, for per-sample losses l_i
        losses = np.random.default_rng(n).random(n)
        means = [losses[lo - 5:hi - 5].mean() if hi > lo else 0.0 for lo, hi in parts]
        ddp = sum(loss_scale(s, n, w) * m for s, m in zip(sizes, means)) / w
        assert ddp == pytest.approx(losses.mean(), rel=1e-12)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Each case's per-rank results, from one pair of worker processes started as torchrun would."""
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": "2",
           "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "ddp_worker.py"), str(out),
                               ",".join(ddp_worker.CASES)],
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(2)]
    try:
        outs = [p.communicate(timeout=180)[0].decode() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failed = "\n".join(outs) if any(p.returncode != 0 for p in procs) else None

    def results(case):
        assert failed is None, failed
        return [dict(np.load(out / case / f"rank{r}.npz", allow_pickle=False)) for r in range(2)]
    return results


def _single_process(case):
    return ddp_worker.train(ddp_worker.backend(case), case)


def _assert_ranks_match(ranks, ref_losses, ref_params, rtol=1e-5, atol=1e-6):
    for r in ranks:
        # float32: the global-batch gradient is summed in a different order (two shard
        # sums, then an all-reduce): ~1e-7 relative per step; 12 steps stay < 1e-5.
        np.testing.assert_allclose(r["losses"], ref_losses, rtol=rtol, atol=atol)
        for k, v in ref_params.items():
            np.testing.assert_allclose(r[k], v, rtol=rtol, atol=atol, err_msg=k)
    for k in ref_params:  # DDP keeps the replicas identical (batchnorm statistics included)
        np.testing.assert_array_equal(ranks[0][k], ranks[1][k], err_msg=k)


def test_two_gloo_processes_match_single_process(ranks):
    results = ranks("mlp")
    assert [bool(r["main"]) for r in results] == [True, False] and int(results[0]["world"]) == 2
    assert all(bool(r["agreed"]) for r in results)  # rank 1's flag reached rank 0
    _assert_ranks_match(results, *_single_process("mlp"))


def test_a_rank_without_samples_still_joins_every_gradient_all_reduce(ranks):
    """29 samples in batches of 7: rank 0 gets nothing of the last batch. Under an unfused
    loss its zero loss must still reach the last layer, or DDP skips that bucket and the
    ranks' collectives no longer match (gloo: "collective mismatch"; NCCL: a hang)."""
    _assert_ranks_match(ranks("empty_shard"), *_single_process("empty_shard"))


def test_batchnorm_uses_the_global_batch(ranks):
    """Batch statistics over every rank's samples: DDP(2) equals one process (weights and
    running statistics), and the last batch of 2 (one sample per rank) does not raise."""
    losses, params = _single_process("batchnorm")
    assert any(k.endswith("running_var") for k in params)
    _assert_ranks_match(ranks("batchnorm"), losses, params, rtol=1e-10, atol=1e-12)
