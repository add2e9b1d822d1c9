"""Convolution and layer options (issue 13, item 5): the static checks, printing, initializers,
and every new op against the torch.nn module a PyTorch user would write, on the same weights.

The conformance suite (tests/conformance) already runs each op's cases on NumPy (finite
differences), the torch lowering and onnxruntime; here the reference is torch.nn itself
(nn.Conv2d(dilation, groups), nn.ConvTranspose2d, nn.Upsample, nn.PReLU(num_parameters),
nn.ReLU6, nn.Hardswish, F.max_pool2d / F.avg_pool2d(count_include_pad=False)), so the
canonical layouts load with load_state_dict and the numbers are PyTorch's.
"""
from __future__ import annotations

import numpy as np
import pytest

from specc.errors import SpecError, SpecErrors
from specc.frontend import compile_text
from specc.init import initial_params
from specc.printer import format_program

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional


def model(shape, body: str):
    return compile_text(f"model m {{ input x {list(shape)}; {body} }}\n", "t.nn")


def numpy_forward(program, params, x):
    from specc.backends.numpy.model import Network
    from specc.backends.numpy.ops import Context

    env = Network(program.model, params).forward(x, Context(False))
    return env[program.model.outputs[0].value]


def random_weights(program, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(p.shape) * 0.5 for k, _l, p in program.all_params()}


# ---- the same numbers as torch.nn on the same weights ------------------------------------

def _conv(c, **kw):
    return lambda: nn.Conv2d(c, **kw)


TORCH_MODULES = [
    # (input shape, spec body, torch module with the same arguments, canonical key prefix)
    ((4, 9, 9), "conv2d(6, 3, dilation=2, groups=2, stride=2, pad=1)",
     lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), "conv2d_1"),
    ((3, 7, 7), "conv2d(6, 3, groups=3, pad=same)",  # depthwise, multiplier 2
     lambda: nn.Conv2d(3, 6, 3, padding="same", groups=3), "conv2d_1"),
    ((3, 8, 8), "conv2d(2, [3, 5], dilation=[1, 2], pad=same)",
     lambda: nn.Conv2d(3, 2, (3, 5), padding="same", dilation=(1, 2)), "conv2d_1"),
    ((3, 4, 5), "conv2d_transpose(2, 3, stride=2, pad=1, output_padding=1)",
     lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), "conv2d_transpose_1"),
    ((2, 3, 3), "conv2d_transpose(4, [2, 3], stride=[2, 1], bias=false)",
     lambda: nn.ConvTranspose2d(2, 4, (2, 3), stride=(2, 1), bias=False), "conv2d_transpose_1"),
    ((3, 4, 4), "upsample(2)", lambda: nn.Upsample(scale_factor=2, mode="nearest"), None),
    ((3, 4, 5), "upsample([2, 3], mode=bilinear)",
     lambda: nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=False), None),
    ((3, 4, 4), "prelu(channels=true)", lambda: nn.PReLU(num_parameters=3), "prelu_1"),
    ((5,), "prelu(alpha=0.1, channels=true)", lambda: nn.PReLU(num_parameters=5, init=0.1), "prelu_1"),
    ((2, 3, 3), "relu6", lambda: nn.ReLU6(), None),
    ((2, 3, 3), "hard_swish", lambda: nn.Hardswish(), None),
]


@pytest.mark.parametrize("shape,body,module,prefix", TORCH_MODULES, ids=[b for _s, b, _m, _p in TORCH_MODULES])
def test_same_numbers_as_the_torch_module(shape, body, module, prefix):
    program = model(shape, body)
    params = random_weights(program)
    m = module().double()
    if prefix:  # the canonical keys without the layer name are the module's state_dict
        m.load_state_dict({k[len(prefix) + 1:]: torch.tensor(v) for k, v in params.items()})
    x = np.random.default_rng(1).standard_normal((2, *shape)) * 4  # reaches relu6's 6 and hard_swish's ±3
    want = m(torch.tensor(x)).detach().numpy()
    got = numpy_forward(program, params, x)
    assert got.shape == want.shape == (2, *program.model.layers[-1].out_shape)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("size,stride,pad,body", [
    (3, 2, 1, "maxpool(3, stride=2, pad=1)"), (3, 1, 1, "maxpool(3, stride=1, pad=same)"),
    (3, 2, 1, "avgpool(3, stride=2, pad=1)"), (2, 1, 1, "avgpool(2, stride=1, pad=1)")])
def test_padded_pools_are_torch_pools(size, stride, pad, body):
    """Max pads with -inf (padding never wins), average leaves padding out (count_include_pad=False)."""
    program = model((2, 6, 6), body)
    x = np.random.default_rng(0).standard_normal((3, 2, 6, 6)) - 3  # all negative: a zero pad would win a max
    if body.startswith("max"):
        want = F.max_pool2d(torch.tensor(x), size, stride, padding=pad)
    else:
        want = F.avg_pool2d(torch.tensor(x), size, stride, padding=pad, count_include_pad=False)
    np.testing.assert_allclose(numpy_forward(program, {}, x), want.numpy(), rtol=1e-12)


def test_avgpool_same_is_keras_average_pooling_same():
    """Keras AveragePooling2D(padding="same") divides each window by its real pixels (even windows pad
    the bottom/right only); written out for a 5-wide row, pool 2, stride 2: [a+b, c+d, e] / [2, 2, 1]."""
    program = model((1, 1, 5), "avgpool([1, 2], pad=same)")
    x = np.arange(5.0).reshape(1, 1, 1, 5)
    np.testing.assert_allclose(numpy_forward(program, {}, x)[0, 0, 0], [0.5, 2.5, 4.0])


# ---- shapes, static checks, printing -------------------------------------------------------

@pytest.mark.parametrize("h,k,s", [(4, 3, 2), (5, 2, 2), (3, 4, 2), (4, 1, 3), (7, 5, 1), (3, 2, 3)])
def test_transpose_same_gives_in_times_stride_and_is_conv_same_adjoint(h, k, s):
    """conv2d_transpose(pad=same) outputs in·s and is the adjoint of conv2d(pad=same) on in·s."""
    up = model((1, h, h), f"conv2d_transpose(1, {k}, stride={s}, pad=same, bias=false)")
    down = model((1, h * s, h * s), f"conv2d(1, {k}, stride={s}, pad=same, bias=false)")
    assert up.model.layers[0].out_shape == (1, h * s, h * s) and down.model.layers[0].out_shape == (1, h, h)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1, 1, k, k))
    x, y = rng.standard_normal((1, 1, h, h)), rng.standard_normal((1, 1, h * s, h * s))
    # <T x, y> = <x, C y>: the same weight, transposed convolution = adjoint of the convolution
    lhs = (numpy_forward(up, {"conv2d_transpose_1.weight": w}, x) * y).sum()
    rhs = (x * numpy_forward(down, {"conv2d_1.weight": w}, y)).sum()
    assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(lhs))


def test_four_sided_pad_is_top_bottom_left_right_and_prints_back():
    p = model((1, 5, 5), "conv2d(1, 1, pad=[1, 2, 3, 4]); maxpool(2, stride=1, pad=[0, 1, 1, 0])")
    conv, pool = p.model.layers
    assert conv.attrs["pad"] == (1, 3, 2, 4)  # internal order (top, left, bottom, right)
    assert conv.out_shape == (1, 5 + 1 + 2, 5 + 3 + 4)
    text = format_program(p)
    assert "pad=[1, 2, 3, 4]" in text and "pad=[0, 1, 1, 0]" in text
    assert compile_text(text, "t.nn") == p


def test_new_options_print_and_compile_back():
    p = model((4, 8, 8), "conv2d(8, 3, dilation=2, groups=4, pad=same, bias_init=constant(0.1)); relu6; "
                         "conv2d_transpose(4, 2, stride=2, init=he_normal(mode=fan_out)); hard_swish; "
                         "avgpool(3, stride=1, pad=same); upsample([1, 2], mode=bilinear); "
                         "prelu(channels=true); flatten; dense(3, bias_init=uniform(0.5))")
    text = format_program(p)
    for part in ("dilation=2", "groups=4", "bias_init=constant(0.1)", "init=he_normal(fan_out)",
                 "upsample([1, 2], mode=bilinear)", "prelu(channels=true)", "bias_init=uniform(0.5)"):
        assert part in text, part
    assert compile_text(text, "t.nn") == p


def test_defaults_print_nothing_new():
    """Specs without the new options print as before (no bias_init=zeros, dilation=1, pad=0 ...)."""
    text = format_program(model((1, 6, 6), "conv2d(2, 3); maxpool(2); flatten; dense(2); prelu"))
    for absent in ("bias_init", "dilation", "groups", "pad", "channels", "mode="):
        assert absent not in text


@pytest.mark.parametrize("shape,body,message", [
    ((4, 6, 6), "conv2d(6, 3, groups=3)", "groups=3 must divide the input channels (4) and the filters (6)"),
    ((3, 6, 6), "conv2d(4, 3, groups=3)", "groups=3 must divide the input channels (3) and the filters (4)"),
    ((1, 6, 6), "conv2d(1, 3, pad=[1, 2, 3])", "must be an int, [h, w] or [top, bottom, left, right]"),
    ((1, 6, 6), "conv2d(1, 3, dilation=3)", "window 7x7 is larger than its input 6x6"),
    ((1, 4, 4), "conv2d_transpose(1, 3, stride=2, output_padding=2)", "output_padding 2 must be smaller than the stride 2"),
    ((1, 4, 4), "conv2d_transpose(1, 3, stride=2, pad=same, output_padding=1)", "cannot be combined with pad=same"),
    ((1, 2, 2), "conv2d_transpose(1, 1, pad=1)", "leaves no output"),
    ((1, 6, 6), "maxpool(2, pad=2)", "padding 2 must be smaller than the window 2x2"),
    ((1, 6, 6), "avgpool(3, pad=[0, 3, 0, 0])", "must be smaller than the window 3x3"),
    ((4,), "upsample(2)", "expects an image"),
    ((1, 4, 4), "upsample(2, mode=bicubic)", "bicubic"),
    ((4,), "dense(2, bias_init=auto)", "auto"),
    ((4,), "dense(2, init=he_normal(mode=sideways))", "sideways"),
    ((4,), "dense(2, init=glorot_normal(mode=fan_out))", "mode"),
    ((4,), "dense(2, bias_init=constant)", "initializer `constant` needs `value`"),
])
def test_static_errors(shape, body, message):
    with pytest.raises((SpecError, SpecErrors)) as e:
        model(shape, body)
    assert message in str(e.value)


# ---- initializers ---------------------------------------------------------------------------

def test_fan_out_mode_and_bias_init():
    p = model((16, 8, 8), "conv2d(64, 3, init=he_normal(mode=fan_out), bias_init=constant(-0.5)); relu; "
                          "conv2d(32, 3, groups=16, init=he_uniform(fan_out)); flatten; dense(2, bias_init=ones)")
    params = initial_params(p, seed=0)
    w = params["conv2d_1.weight"]
    # torch.nn.init.kaiming_normal_(w, mode="fan_out"): std = sqrt(2 / (filters * kh * kw))
    assert abs(w.std() / np.sqrt(2 / (64 * 9)) - 1) < 0.05
    assert (params["conv2d_1.bias"] == -0.5).all() and (params["dense_1.bias"] == 1).all()
    g = params["conv2d_2.weight"]  # torch's fan_out of a grouped weight [F, C/g, kh, kw] is F·kh·kw
    limit = np.sqrt(6 / (32 * 9))
    t = torch.empty(32, 1, 3, 3)
    nn.init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu")
    assert np.abs(g).max() <= limit and np.abs(g).max() > 0.9 * limit and float(t.abs().max()) <= limit


def test_bias_init_draws_after_its_weight_and_keeps_other_initial_weights():
    """A default (zeros) bias draws nothing: the weights of every spec without bias_init are unchanged."""
    a = initial_params(model((4,), "dense(3); relu; dense(2)"), seed=3)
    b = initial_params(model((4,), "dense(3, bias_init=zeros); relu; dense(2)"), seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
