"""CUDA arithmetic settings (numerics.py), checked without a GPU: the flags are plain torch state."""
import json
import os

import pytest

torch = pytest.importorskip("torch")

from specc import cli  # noqa: E402
from specc.backends.torch import numerics  # noqa: E402

CUDA = torch.device("cuda", 0)


@pytest.fixture
def torch_flags(monkeypatch):
    """Restore every process-wide flag configure() touches (later tests must not inherit them)."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
             torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield
    (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
     torch.backends.cudnn.deterministic) = saved[:4]
    torch.use_deterministic_algorithms(saved[4], warn_only=saved[5])


def _fast_flags():
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = True, False
    torch.use_deterministic_algorithms(False)


def test_cuda_defaults_to_ieee_float32_and_deterministic_kernels(torch_flags):
    _fast_flags()  # what torch does by default for convolutions, and what a user may have set
    assert numerics.configure(CUDA) == {"tf32": False, "cudnn_benchmark": False, "deterministic": True}
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert not torch.backends.cudnn.benchmark and torch.backends.cudnn.deterministic
    assert torch.are_deterministic_algorithms_enabled()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_fast_math_allows_tf32_and_autotuning(torch_flags):
    numerics.configure(CUDA)
    assert numerics.configure(CUDA, fast_math=True)["tf32"]
    assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    assert torch.backends.cudnn.benchmark and not torch.are_deterministic_algorithms_enabled()


def test_cpu_runs_leave_the_flags_alone(torch_flags):
    _fast_flags()
    assert numerics.configure(torch.device("cpu"), fast_math=False) is None
    assert torch.backends.cudnn.allow_tf32 and not torch.are_deterministic_algorithms_enabled()


def test_fast_math_is_recorded_in_the_manifest(tmp_path, torch_flags):
    spec = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "xor.nn")
    out = tmp_path / "run"
    assert cli.main(["train", spec, "--backend", "torch", "--device", "cpu", "--fast-math", "--quiet",
                     "--out", str(out), "--set", "train.epochs=2"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend_options"]["fast_math"] is True
