"""Pinned staging (staging.py): the slot and buffer-reuse logic, run on CPU.

The asynchronous part (pinned memory, events) needs a GPU: test_cuda.py's
test_data_off_the_device_trains_like_resident_data, run by bench/gpu.sh.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from specc.backends.torch.staging import SLOTS, PinnedStaging  # noqa: E402


def test_batches_are_gathered_into_reused_buffers_in_turn():
    xs = torch.arange(40.0).reshape(20, 2)
    ys = torch.arange(20)
    staging = PinnedStaging(torch.device("cpu"))
    rng = np.random.default_rng(0)
    pointers = []
    for step in range(6):
        n = 5 if step < 5 else 3  # a smaller last batch uses the front of the same buffers
        idx = torch.from_numpy(rng.permutation(20)[:n])
        (x,), (y,) = staging.batch([xs], [ys], idx)
        assert torch.equal(x, xs[idx]) and torch.equal(y, ys[idx])
        pointers.append(x.data_ptr())
    # two slots used in turn, allocated once each: a batch never overwrites the previous one
    assert pointers[0] != pointers[1]
    assert pointers[::SLOTS] == [pointers[0]] * 3 and pointers[1::SLOTS] == [pointers[1]] * 3


def test_without_targets_the_input_is_the_target():
    xs, more = torch.randn(6, 3), torch.randn(6, 2)
    x, y = PinnedStaging(torch.device("cpu")).batch([xs, more], None, torch.tensor([4, 1]))
    assert y is x and torch.equal(x[0], xs[[4, 1]]) and torch.equal(x[1], more[[4, 1]])


def test_a_new_shape_or_dtype_gets_new_buffers():
    staging = PinnedStaging(torch.device("cpu"))
    idx = torch.tensor([0, 1])
    staging.batch([torch.randn(4, 3)], None, idx)
    staging.batch([torch.randn(4, 3)], None, idx)
    (x,), _ = staging.batch([torch.randn(4, 5).double()], None, idx)
    assert x.shape == (2, 5) and x.dtype == torch.float64
