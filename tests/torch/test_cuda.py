"""CUDA paths: device resolution, device-resident and off-device data, fused optimizers,
numerics, amp, compile. Skipped without a GPU (bench/gpu.sh runs them on one).

Each test checks that the path it names actually ran (autocast dtypes, the scaler's
counters, dynamo's graph count, where the data lives), so a silent fallback fails.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_irbuild as irbuild  # noqa: E402
from specc.backends.torch import backend as torch_backend  # noqa: E402
from specc.backends.torch.backend import TorchBackend  # noqa: E402
from specc.init import initial_params  # noqa: E402

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

CNN = [("conv2d", {"filters": 4, "kernel": 3, "pad": 1}), ("batchnorm",), ("relu",), ("maxpool", {"size": 2}),
       ("flatten",), ("dense", {"units": 3}), ("softmax",)]


@pytest.fixture(autouse=True)
def restore_torch_flags():
    """The backend sets process-wide numerics flags (numerics.py): put them back after each test."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
             torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    yield
    (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
     torch.backends.cudnn.deterministic) = saved[:4]
    torch.use_deterministic_algorithms(saved[4], warn_only=saved[5])


def _backend(device, weight_decay=0.0, **kw):
    prog = irbuild.program([1, 8, 8], CNN, loss="cross_entropy", optimizer=("adam", {"lr": 0.01}), l2=1e-4,
                           clip_norm=1.0, weight_decay=weight_decay)
    be = TorchBackend(prog, initial_params(prog), seed=0, device=device, **kw)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 64)
    be.put_data("train", x, y)
    be.put_data("val", x, y)
    be.set_order(rng.permutation(64))
    return be


def _train(be, steps=20):
    hs = [be.train_step((i % 4) * 16, (i % 4) * 16 + 16, 0.01, i) for i in range(steps)]
    return be.losses_to_numpy(hs)


def _run(device, steps=20, **kw):
    be = _backend(device, **kw)
    return be, _train(be, steps)


def _conv_output_dtypes(monkeypatch):
    """Record the dtype of every convolution's output (autocast shows up there)."""
    seen = []
    conv2d = torch.nn.functional.conv2d

    def recording(*args, **kwargs):
        out = conv2d(*args, **kwargs)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.functional, "conv2d", recording)
    return seen


@pytest.mark.parametrize("requested", ["cuda", "auto"])
def test_cuda_resolves_to_an_indexed_device_and_trains(requested):
    """A bare "cuda" once failed at start-up (set_device needs an index)."""
    be, losses = _run(requested)
    assert be.device == torch.device("cuda", torch.cuda.current_device())
    assert be._x["train"].device == be.device and be._order.device == be.device
    assert be._gather["x"].device == be.device  # the reusable gather buffers are used
    assert be.opt.defaults.get("fused") is True
    assert np.isfinite(losses).all()


def test_defaults_to_ieee_float32_and_deterministic_kernels():
    torch.backends.cudnn.allow_tf32 = True  # torch's own default for convolutions
    _backend("cuda")
    assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


def test_cuda_matches_cpu():
    """IEEE float32 on both (no TF32): only the order of sums differs, ~1e-7 relative per op;
    20 Adam steps of a tiny CNN stay within 1e-4 (TF32 convolutions are ~1e-3 off)."""
    _, cpu = _run("cpu")
    _, gpu = _run("cuda")
    np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-5)


def test_two_runs_are_identical():
    """Deterministic kernels: the same run twice gives bit-identical losses."""
    _, first = _run("cuda")
    _, second = _run("cuda")
    np.testing.assert_array_equal(first, second)


def test_data_off_the_device_trains_like_resident_data(monkeypatch):
    """Data too big for the GPU stays in pinned host memory and is copied batch by batch."""
    _, resident = _run("cuda")
    monkeypatch.setattr(torch_backend, "DEVICE_DATA_FRACTION", 0.0)
    be, off = _run("cuda")
    assert be._x["train"].device.type == "cpu" and be._x["train"].is_pinned()
    np.testing.assert_allclose(off, resident, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("amp, dtype", [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_amp_runs_autocast_and_the_scaler(monkeypatch, amp, dtype):
    be = _backend("cuda", amp=amp)
    seen = _conv_output_dtypes(monkeypatch)
    losses = _train(be)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert set(seen) == {dtype}  # training steps ran under autocast
    if amp == "fp16":
        assert be.scaler is not None and be.scaler._get_growth_tracker() == 20  # 20 scaled, unskipped steps
    else:
        assert be.scaler is None
    seen.clear()
    loss, out = be.evaluate("val", 32)
    assert set(seen) == {dtype}  # evaluation too
    assert out.dtype == np.float32 and np.isfinite(loss)


def test_fp16_skipped_step_leaves_weights_alone_with_the_fused_optimizer():
    be = _backend("cuda", amp="fp16", weight_decay=0.1)
    assert be.opt.defaults.get("fused") is True
    be.scaler = torch.amp.GradScaler("cuda", init_scale=float("inf"))  # every step overflows
    before = be.get_params()
    _train(be, steps=1)
    for k, v in before.items():
        np.testing.assert_array_equal(be.get_params()[k], v, err_msg=k)


def test_compile_compiles_and_matches_eager():
    import torch._dynamo

    _, eager = _run("cuda", steps=8)
    torch._dynamo.reset()
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    _, compiled = _run("cuda", steps=8, compile=True)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > graphs  # dynamo captured the model
    # Inductor fuses and reorders float32 arithmetic: ~1e-6 relative per op.
    np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-5)
