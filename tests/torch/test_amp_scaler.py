"""fp16 loss scaling (GradScaler) on CPU: what a GPU run does when a step overflows.

The backend creates its GradScaler on CUDA only; these tests give it a CPU one,
which runs the same skip / back-off / growth logic.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_irbuild as irbuild  # noqa: E402
from specc.backends.torch import backend as torch_backend  # noqa: E402
from specc.backends.torch.backend import TorchBackend  # noqa: E402
from specc.init import initial_params  # noqa: E402

SPECS = [("dense", {"units": 8}), ("tanh",), ("dense", {"units": 3}), ("softmax",)]


def _backend(scaler, x_scale=1.0, specs=SPECS, **train):
    prog = irbuild.program([4], specs, loss="cross_entropy", optimizer=("sgd", {"lr": 0.1, "momentum": 0.9}),
                           batch=8, **train)
    be = TorchBackend(prog, initial_params(prog), seed=0, device="cpu")
    be.scaler = scaler
    rng = np.random.default_rng(0)
    be.put_data("train", (x_scale * rng.standard_normal((32, 4))).astype(np.float32), rng.integers(0, 3, 32))
    be.set_order(np.arange(32))
    return be


def _steps(be, first, last):
    return [be.train_step((i % 4) * 8, (i % 4) * 8 + 8, 0.1, i) for i in range(first, last)]


@pytest.mark.parametrize("fused", [False, True])
def test_a_skipped_step_does_not_decay_the_weights(monkeypatch, fused):
    """An infinite loss scale overflows every gradient: GradScaler skips the step, and the
    weights must stay as they were (weight decay is part of the step)."""
    if fused:  # what CUDA uses: the scaler calls the fused step with found_inf instead of skipping it
        monkeypatch.setattr(torch_backend, "make_optimizer",
                            lambda spec, params, device: torch.optim.SGD(params, lr=0.1, momentum=0.9, fused=True))
    be = _backend(torch.amp.GradScaler("cpu", init_scale=float("inf")), weight_decay=0.1)
    assert be.opt.defaults.get("fused") is (True if fused else None)
    before = be.get_params()
    _steps(be, 0, 1)
    after = be.get_params()
    for k, v in before.items():
        np.testing.assert_array_equal(after[k], v, err_msg=k)


def test_weight_decay_still_applies_on_steps_that_are_taken():
    plain = _backend(None, weight_decay=0.1)
    scaled = _backend(torch.amp.GradScaler("cpu", init_scale=2.0 ** 10), weight_decay=0.1)
    _steps(plain, 0, 3)
    _steps(scaled, 0, 3)
    for k, v in plain.get_params().items():
        np.testing.assert_allclose(scaled.get_params()[k], v, rtol=1e-6, atol=1e-7, err_msg=k)


def _oscillating_scaler():
    """Doubles after every good step until the scaled gradients overflow (large inputs give
    large first-layer gradients), then halves and skips: which steps are skipped depends
    on the scale carried from step to step."""
    return torch.amp.GradScaler("cpu", init_scale=2.0 ** 120, growth_interval=1)


X_SCALE = 10.0
LINEAR = [("dense", {"units": 3}), ("softmax",)]  # gradients grow with the inputs (nothing saturates)


def test_resume_continues_with_the_saved_loss_scale():
    whole = _backend(_oscillating_scaler(), X_SCALE, LINEAR)
    _steps(whole, 0, 12)
    assert whole.scaler.get_scale() < 2.0 ** (120 + 12)  # it did not double at every step: some were skipped

    def resumed(with_scaler_state):
        first = _backend(_oscillating_scaler(), X_SCALE, LINEAR)
        _steps(first, 0, 5)
        params, state = first.get_params(), first.optimizer_state()
        if not with_scaler_state:
            state = {k: v for k, v in state.items() if k not in torch_backend.SCALER_KEYS}
        second = _backend(_oscillating_scaler(), X_SCALE, LINEAR)
        second.set_params(params)
        second.load_optimizer_state(state)
        _steps(second, 5, 12)
        return second

    good = resumed(with_scaler_state=True)
    for k, v in whole.get_params().items():
        np.testing.assert_array_equal(good.get_params()[k], v, err_msg=k)
    assert good.scaler.get_scale() == whole.scaler.get_scale()
    # the check can fail: restarting at the initial scale skips other steps
    restarted = resumed(with_scaler_state=False)
    assert any(not np.array_equal(restarted.get_params()[k], v) for k, v in whole.get_params().items())
