"""Optimizer state restored before the first step (a checkpoint written at step 0)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_irbuild as irbuild  # noqa: E402
from specc.backends.numpy.backend import NumpyBackend  # noqa: E402
from specc.backends.torch.backend import TorchBackend  # noqa: E402
from specc.init import initial_params  # noqa: E402

OPTIMIZERS = ["sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw"]


def _backend(prog):
    be = TorchBackend(prog, initial_params(prog), seed=0, device="cpu")
    rng = np.random.default_rng(0)
    be.put_data("train", rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32))
    be.set_order(np.arange(8))
    return be


@pytest.mark.parametrize("saved_by", ["torch", "numpy"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_saved_at_step_0_restores_and_trains_as_a_fresh_run(name, saved_by):
    prog = irbuild.program([4], [("dense", {"units": 3})], optimizer=(name, {"lr": 0.05}))
    source = (_backend(prog) if saved_by == "torch" else NumpyBackend(prog, initial_params(prog), seed=0))
    state = source.optimizer_state()
    assert int(state["step"]) == 0
    fresh, restored = _backend(prog), _backend(prog)
    restored.load_optimizer_state(state)
    for i in range(3):
        fresh.train_step(0, 8, 0.05, i)
        restored.train_step(0, 8, 0.05, i)
    for k, v in fresh.get_params().items():
        np.testing.assert_allclose(restored.get_params()[k], v, rtol=1e-6, err_msg=k)
