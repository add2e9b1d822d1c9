"""A learning rate far too high: stop at the first non-finite loss, exit 3, keep a finite checkpoint (item 4)."""
import json
import re

import numpy as np

import faultlib
from specc import rundir
from specc.checkpoint import load_checkpoint

# ReLU net, mse, SGD with lr=3 and momentum: the loss grows ~15x per step and overflows after ~30 steps.
# One step per epoch, so the first epoch-end checkpoint (always written) precedes the blow-up.
DIVERGING = """\
model div {
    input x [2]
    dense(16)
    relu
    dense(1)
}

data {
    train = xor(n=64)
    val = 0
}

train {
    loss = mse
    optimizer = sgd(lr=3, momentum=0.9)
    batch = 64
    epochs = 200
    seed = 5
}
"""


def first_nonfinite_step(spec) -> int:
    """1-based step of the first non-finite training loss, found by recording every loss the backend returns."""
    from specc.backends.numpy.backend import NumpyBackend
    from specc.driver import NonFiniteLoss, Trainer
    from specc.frontend import compile_file

    seen = []

    class Recording(NumpyBackend):
        def losses_to_numpy(self, handles):
            values = super().losses_to_numpy(handles)
            seen.extend(np.asarray(values, np.float64).tolist())
            return values

    try:
        Trainer(compile_file(str(spec)), backend=Recording, out=spec.parent / "probe-run").run()
    except NonFiniteLoss:
        pass
    return next(i for i, v in enumerate(seen) if not np.isfinite(v)) + 1


def test_divergence_stops_at_the_first_nonfinite_step_and_keeps_a_finite_checkpoint(cli, tmp_path):
    spec = faultlib.write_spec(tmp_path, DIVERGING, "div.nn")
    out = tmp_path / "run"
    code, _, err = cli("train", spec, "--out", out, "--quiet")
    assert code == 3, err
    m = re.search(r"training loss became (\S+) at step (\d+) .*checkpoint \(step (\d+)\) is (\S+)", err)
    assert m, err
    step, kept_step = int(m.group(2)), int(m.group(3))
    assert m.group(4) == str(out / rundir.CHECKPOINT)
    assert step == first_nonfinite_step(spec)
    ckpt = load_checkpoint(out / rundir.CHECKPOINT)
    assert ckpt.meta["step"] == kept_step < step
    assert all(np.isfinite(v).all() for group in (ckpt.params, ckpt.optimizer) for v in group.values())
    rows = [json.loads(line) for line in (out / rundir.METRICS_JSONL).read_text().splitlines()]
    assert rows and rows[-1]["step"] < step and all(np.isfinite(r["train_loss"]) for r in rows)
    assert not (out / rundir.WEIGHTS).exists()  # no final weights from a diverged run
