"""The torch lowering on its own: table coverage, canonical keys, gradcheck, op semantics."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch_irbuild as irbuild  # noqa: E402
from torch_cases import OP_CASES, OPS_COVERED  # noqa: E402
from specc.backends.torch.losses import LOSS_TABLE  # noqa: E402
from specc.backends.torch.model import build_model  # noqa: E402
from specc.backends.torch.ops import OP_TABLE  # noqa: E402
from specc.backends.torch.optim import OPTIMIZER_TABLE  # noqa: E402
from specc.init import initial_params  # noqa: E402
from specc.ops import LOSSES, OPS, OPTIMIZERS  # noqa: E402


def test_every_op_loss_and_optimizer_has_a_row():
    assert set(OPS) <= set(OP_TABLE), sorted(set(OPS) - set(OP_TABLE))
    assert set(LOSSES) <= set(LOSS_TABLE)
    assert set(OPTIMIZERS) <= set(OPTIMIZER_TABLE)
    assert set(OPS) <= OPS_COVERED, "add a case to tests/torch/torch_cases.py"


@pytest.mark.parametrize("case", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_state_dict_keys_are_canonical(case):
    _id, shape, specs = case
    prog = irbuild.program(shape, specs)
    params = initial_params(prog)
    model = build_model(prog, params)
    assert list(model.state_dict()) == list(params)  # same keys, same (layer) order
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), params[k])  # loaded exactly, no layout change


def _functional(model):
    names = [k for k, _ in model.named_parameters()]

    def f(x, *ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), (x,))
    return f, [p.detach().clone().requires_grad_(True) for _, p in model.named_parameters()]


@pytest.mark.parametrize("case", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_gradcheck_float64(case):
    """Finite differences (torch.autograd.gradcheck, float64, eps 1e-6) against the lowering's
    autograd, for the input and every parameter, in training mode (batch statistics)."""
    _id, shape, specs = case
    prog = irbuild.program(shape, specs)
    model = build_model(prog, initial_params(prog)).double().train()
    if _id == "dropout_eval":
        model.eval()  # a random mask is not a function; eval mode is the identity
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.standard_normal((3, *shape)), requires_grad=True)
    f, ps = _functional(model)
    # gradcheck's own tolerances (atol 1e-5, rtol 1e-3) suit float64 central differences;
    # random inputs avoid the kinks of relu/max/clip with probability 1.
    assert torch.autograd.gradcheck(f, (x, *ps), eps=1e-6, atol=1e-5, rtol=1e-3)


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
