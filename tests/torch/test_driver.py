"""The shared driver with the torch backend: same run as the NumPy reference."""
import numpy as np
import pytest

pytest.importorskip("torch")

from specc.driver import train  # noqa: E402
from specc.frontend import compile_text  # noqa: E402
from specbuild import spirals_net, with_train  # noqa: E402

SPEC = with_train(spirals_net(120, "[0.8, 0.1, 0.1]"), loss="cross_entropy", optimizer="sgd(lr=0.1, momentum=0.9)",
                  schedule="cosine", batch=16, epochs=4, l2="1e-4", metrics="[accuracy]", seed=3)


def test_driver_trains_the_same_on_both_backends(tmp_path):
    program = compile_text(SPEC)
    runs = {b: train(program, backend=b, out=tmp_path / b, options={"device": "cpu"} if b == "torch" else None)
            for b in ("numpy", "torch")}
    a, b = runs["numpy"], runs["torch"]
    assert a.steps == b.steps == 4 * 6
    # float32 on both sides, 24 SGD steps of a tanh MLP: rounding differences ~1e-7
    # relative per step; the loss curve and weights agree to 1e-5.
    la = [h["train_loss"] for h in a.history if "train_loss" in h]
    lb = [h["train_loss"] for h in b.history if "train_loss" in h]
    np.testing.assert_allclose(lb, la, rtol=1e-5)
    for k, v in a.params.items():
        np.testing.assert_allclose(b.params[k], v, rtol=1e-5, atol=1e-6, err_msg=k)
    assert b.test["loss"] == pytest.approx(a.test["loss"], rel=1e-5)
