"""CUDA paths: device-resident data, fused optimizers, amp, compile. Skipped without a GPU."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_irbuild as irbuild  # noqa: E402
from specc.backends.torch.backend import TorchBackend  # noqa: E402
from specc.init import initial_params  # noqa: E402

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

CNN = [("conv2d", {"filters": 4, "kernel": 3, "pad": 1}), ("batchnorm",), ("relu",), ("maxpool", {"size": 2}),
       ("flatten",), ("dense", {"units": 3}), ("softmax",)]


def _run(device, steps=20, **kw):
    prog = irbuild.program([1, 8, 8], CNN, loss="cross_entropy", optimizer=("adam", {"lr": 0.01}), l2=1e-4,
                           clip_norm=1.0)
    be = TorchBackend(prog, initial_params(prog), seed=0, device=device, **kw)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 64)
    be.put_data("train", x, y)
    be.put_data("val", x, y)
    be.set_order(rng.permutation(64))
    hs = [be.train_step((i % 4) * 16, (i % 4) * 16 + 16, 0.01, i) for i in range(steps)]
    return be, be.losses_to_numpy(hs)


def test_data_and_order_live_on_the_gpu_and_fused_optimizer_is_used():
    be, losses = _run("cuda")
    assert be._x["train"].is_cuda and be._order.is_cuda
    assert be.opt.defaults.get("fused") is True
    assert np.isfinite(losses).all()


def test_cuda_matches_cpu():
    """TF32 may be enabled for convolutions on Ampere+: ~1e-3 relative per product; 20 Adam
    steps of a tiny CNN stay within 1e-2 of the CPU loss curve."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    _, cpu = _run("cpu")
    _, gpu = _run("cuda")
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_trains_and_reports_float32(amp):
    be, losses = _run("cuda", amp=amp)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    loss, out = be.evaluate("val", 32)
    assert out.dtype == np.float32 and np.isfinite(loss)


def test_compile_matches_eager():
    _, eager = _run("cuda", steps=8)
    _, compiled = _run("cuda", steps=8, compile=True)
    # Inductor fuses and reorders float32 arithmetic: ~1e-6 relative per op.
    np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-5)
