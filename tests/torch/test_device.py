"""Device resolution, tested without a GPU: torch.cuda's answers are stubbed.

torch.cuda.set_device refuses a device without an index, so every CUDA device the
backend uses must carry one; under torchrun it is the rank's LOCAL_RANK.
"""
import pytest

torch = pytest.importorskip("torch")

from specc.backends.torch import backend as torch_backend  # noqa: E402
from specc.errors import SpecError  # noqa: E402


@pytest.fixture
def gpus(monkeypatch):
    """Pretend `n` GPUs are visible and GPU `current` is the current one."""
    def visible(n, current=0):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: current)
    return visible


@pytest.fixture
def torchrun(monkeypatch):
    def launch(local_rank, world=2):
        monkeypatch.setenv("WORLD_SIZE", str(world))
        monkeypatch.setenv("RANK", str(local_rank))
        monkeypatch.setenv("LOCAL_RANK", str(local_rank))
    return launch


@pytest.mark.parametrize("requested", ["cuda", "auto", None])
def test_cuda_without_index_is_the_current_gpu(gpus, requested):
    gpus(2, current=1)
    assert torch_backend.resolve_device(requested) == torch.device("cuda", 1)


def test_an_explicit_index_is_kept(gpus):
    gpus(2, current=1)
    assert torch_backend.resolve_device("cuda:0") == torch.device("cuda", 0)


@pytest.mark.parametrize("requested", ["cuda", "auto"])
def test_under_torchrun_each_rank_takes_its_local_rank(gpus, torchrun, requested):
    gpus(4, current=0)
    torchrun(local_rank=3, world=4)
    assert torch_backend.resolve_device(requested) == torch.device("cuda", 3)


def test_under_torchrun_an_explicit_index_is_refused(gpus, torchrun):
    gpus(2)
    torchrun(local_rank=1)
    with pytest.raises(SpecError, match="every rank would use it"):
        torch_backend.resolve_device("cuda:0")


def test_more_ranks_than_gpus_is_a_clear_error(gpus, torchrun):
    gpus(2)
    torchrun(local_rank=2, world=3)
    with pytest.raises(SpecError, match=r"cuda:2 does not exist \(2 GPU"):
        torch_backend.resolve_device("cuda")


def test_cpu_and_errors(gpus):
    gpus(0)
    assert torch_backend.resolve_device("auto") == torch.device("cpu")
    assert torch_backend.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(SpecError, match="no CUDA GPU"):
        torch_backend.resolve_device("cuda")
    with pytest.raises(SpecError, match="unknown device"):
        torch_backend.resolve_device("gpu0")
    gpus(1)
    with pytest.raises(SpecError, match="does not exist"):
        torch_backend.resolve_device("cuda:1")


def test_data_on_the_device_compares_equal_to_it(gpus):
    """The reusable gather buffers are used when the data's device equals the backend's:
    a device with an index never equals the index-less torch.device("cuda")."""
    gpus(1)
    dev = torch_backend.resolve_device("cuda")
    assert dev == torch.device("cuda:0") and dev.index == 0
