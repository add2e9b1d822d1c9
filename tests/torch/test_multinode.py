"""Training across machines, as two "nodes" of one process each on localhost.

Each node is its own torchrun, joined by the c10d rendezvous (docs/cli.md, "Several
machines"); the run equals single-process training.
"""
import os
import subprocess
import sys

import numpy as np

from gloo import free_port, require_gloo  # noqa: E402
from specbuild import spirals_net, with_train  # noqa: E402

torch = require_gloo()

SPEC = with_train(spirals_net(150, "[0.8, 0.2, 0.0]"), loss="cross_entropy", optimizer="sgd(lr=0.1, momentum=0.9)",
                  batch=16, epochs=3, seed=3)
TRAIN = ["-m", "specc", "train", "spec.nn", "--backend", "torch", "--device", "cpu", "--quiet"]



def test_two_nodes_with_c10d_rendezvous_match_one_process(tmp_path):
    (tmp_path / "spec.nn").write_text(SPEC)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    port = free_port()
    nodes = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
                               f"--node_rank={r}", "--rdzv_backend=c10d", f"--rdzv_endpoint=127.0.0.1:{port}",
                               "--monitor_interval=0.2", *TRAIN, "--out", "ddp"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
             for r in range(2)]
    try:
        outs = [p.communicate(timeout=180)[0].decode(errors="replace") for p in nodes]
    finally:
        for p in nodes:
            if p.poll() is None:
                os.killpg(p.pid, 9)
    assert all(p.returncode == 0 for p in nodes), "\n".join(outs)
    assert sum("trained m: 24 steps" in out for out in outs) == 1  # only rank 0 reports

    single = subprocess.run([sys.executable, *TRAIN, "--out", "single"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert single.returncode == 0, single.stdout.decode(errors="replace")
    ddp = np.load(tmp_path / "ddp" / "weights.npz", allow_pickle=False)
    ref = np.load(tmp_path / "single" / "weights.npz", allow_pickle=False)
    assert sorted(ddp.files) == sorted(ref.files)
    for k in ref.files:  # float32: shard sums, then an all-reduce (~1e-7 relative per step)
        np.testing.assert_allclose(ddp[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)
