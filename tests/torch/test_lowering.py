"""The torch lowering on its own: loss and optimizer tables, op semantics.

Every op's values and gradients against NumPy, the canonical state_dict keys
and the op table's coverage are checked by the conformance suite (tests/conformance).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_irbuild as irbuild  # noqa: E402
from specc.backends.torch.losses import LOSS_TABLE  # noqa: E402
from specc.backends.torch.model import build_model  # noqa: E402
from specc.backends.torch.optim import OPTIMIZER_TABLE  # noqa: E402
from specc.init import initial_params  # noqa: E402
from specc.ops import LOSSES, OPTIMIZERS  # noqa: E402


def test_every_loss_and_optimizer_has_a_row():
    assert set(LOSSES) <= set(LOSS_TABLE)
    assert set(OPTIMIZERS) <= set(OPTIMIZER_TABLE)


def _one(op, x, **attrs):
    prog = irbuild.program(list(x.shape[1:]), [(op, attrs)])
    model = build_model(prog, initial_params(prog))
    return model(x)


def test_conv_asymmetric_pad_is_top_left_bottom_right():
    # `same` with an even kernel pads one more on the bottom and right (TensorFlow's rule)
    x = torch.randn(1, 1, 4, 5)
    prog = irbuild.program([1, 4, 5], [("conv2d", {"filters": 1, "kernel": 2, "pad": "same", "bias": False})])
    assert prog.model.layers[0].attrs["pad"] == (0, 0, 1, 1)
    params = {"conv2d_1.weight": np.ones((1, 1, 2, 2), np.float32)}
    y = build_model(prog, params)(x)
    padded = torch.nn.functional.pad(x, (0, 1, 0, 1))  # (left, right, top, bottom)
    expect = torch.nn.functional.conv2d(padded, torch.ones(1, 1, 2, 2))
    assert y.shape == (1, 1, 4, 5) and torch.allclose(y, expect)


def test_maxout_piece_k_of_unit_j_is_row_j_times_pieces_plus_k():
    prog = irbuild.program([2], [("maxout", {"units": 2, "pieces": 3})])
    w = np.zeros((6, 2), np.float32)
    w[1 * 3 + 2] = [1, 0]  # unit 1, piece 2 reads x0
    params = {"maxout_1.weight": w, "maxout_1.bias": np.full(6, -5, np.float32)}
    params["maxout_1.bias"][1 * 3 + 2] = 0
    y = build_model(prog, params)(torch.tensor([[3.0, 7.0]]))
    assert y.tolist() == [[-5.0, 3.0]]


def test_step_forward_and_zero_gradient():
    x = torch.tensor([[-1.0, 0.5, 2.0]], requires_grad=True)
    y = _one("step", x, threshold=0.5)
    assert y.tolist() == [[0.0, 0.0, 1.0]]  # strictly greater than the threshold
    y.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0]]


def test_activation_formulas():
    x = torch.linspace(-3, 3, 13).reshape(1, -1)
    torch.testing.assert_close(_one("scaled_tanh", x), 1.7159 * torch.tanh(x * 2 / 3))
    torch.testing.assert_close(_one("sigmoid", x, steepness=3.0), 1 / (1 + torch.exp(-3 * x)))
    torch.testing.assert_close(_one("hard_sigmoid", x), x.clamp(0, 1))
    torch.testing.assert_close(_one("prelu", x, alpha=0.25), torch.where(x > 0, x, 0.25 * x))


def test_softmax_is_over_the_feature_axis():
    x = torch.randn(4, 3, 2, 2)
    y = _one("softmax", x)
    torch.testing.assert_close(y.sum(1), torch.ones(4, 2, 2))


def test_l2pool_gradient_is_finite_on_an_all_zero_window():
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 0, 0] = 3.0
    x[0, 0, 0, 1] = 4.0
    x.requires_grad_(True)
    y = _one("l2pool", x, size=2)
    assert y[0, 0].tolist() == [[5.0, 0.0], [0.0, 0.0]]
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad[0, 0, 0, 0].item() == pytest.approx(0.6)


def test_batchnorm_has_no_extra_buffers_and_updates_like_torch():
    prog = irbuild.program([3], [("batchnorm", {"momentum": 0.3, "eps": 1e-3})])
    model = build_model(prog, initial_params(prog))
    ref = torch.nn.BatchNorm1d(3, eps=1e-3, momentum=0.3)
    sd = {k.split(".", 1)[1]: v for k, v in model.state_dict().items()}
    assert sorted(sd) == ["bias", "running_mean", "running_var", "weight"]
    ref.load_state_dict({**sd, "num_batches_tracked": torch.tensor(0)})
    x = torch.randn(8, 3)
    torch.testing.assert_close(model(x), ref(x))
    torch.testing.assert_close(model.state_dict()["batchnorm_1.running_var"], ref.running_var)
    model.eval(), ref.eval()
    torch.testing.assert_close(model(x), ref(x))


def test_layer_named_like_a_module_method_is_fine():
    prog = irbuild.program([3], [("dense", {"units": 2, "name": "train"}), ("relu", {"name": "forward"})])
    model = build_model(prog, initial_params(prog))
    assert list(model.state_dict()) == ["train.weight", "train.bias"]
    assert model(torch.ones(1, 3)).shape == (1, 2)


def test_dropout_in_training_mode_is_inverted_dropout_with_one_mask():
    """The conformance suite skips training-mode dropout against NumPy (different generators):
    here, torch's own: about p of the units zeroed, survivors scaled by 1/(1-p), the gradient
    through the same mask; eval mode is the identity."""
    torch.manual_seed(0)
    x = torch.ones(200, 50, requires_grad=True)
    prog = irbuild.program([50], [("dropout", {"p": 0.3})])
    model = build_model(prog, initial_params(prog)).train()
    y = model(x)
    kept = y != 0
    assert 0.25 < 1 - kept.float().mean().item() < 0.35
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.7))
    y.sum().backward()
    torch.testing.assert_close(x.grad, y.detach())
    assert torch.equal(model.eval()(x), x)
