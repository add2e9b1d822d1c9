"""Each pass alone: blocks.expand, layers.resolve_args / infer_shape / resolve_pad / init=auto,
values checks. Syntax trees are built by hand or by the parser only, never through compile."""
from __future__ import annotations

import itertools
import math

import pytest

from specc import syntax as S
from specc.errors import Collector, SpecError, SpecErrors
from specc.frontend import compile_text
from specc.ir import Pos
from specc.parser import parse
from specc import values
from specc.ops.conv import resolve_pad
from specc.passes import blocks, layers


def lit(v):
    return S.Lit(v, Pos("<t>", 1, 1), str(v))


def use(op, *args, **kwargs):
    return S.LayerUse(op, tuple(lit(a) if not isinstance(a, (S.NameV, S.ListV)) else a for a in args),
                      tuple(S.KwArg(k, v if isinstance(v, (S.NameV, S.ListV, S.CallV)) else lit(v)) for k, v in kwargs.items()),
                      Pos("<t>", 1, 1), has_parens=bool(args or kwargs))


def raw(op, *args, **kwargs):
    r = layers.resolve_args(use(op, *args, **kwargs))
    r.name = f"{op}_1"
    return r


# ---- blocks.expand --------------------------------------------------------

BLOCKS = """
block conv_pool(n, k=5) { conv2d(n, k); relu; maxpool(2) }
block twice(m) { conv_pool(m); conv_pool(m, k=3) }
model m { input [1, 28, 28]; twice(8) }
"""


def _expand(text):
    spec = parse(text)
    errors = Collector(text)
    table = blocks.collect_blocks(spec, errors)
    body = spec.models[0].body[1:]
    return [stmt for stmt, _scope in blocks.expand(tuple(body), table, errors)
            if not isinstance(stmt, blocks.Alias)], errors


def test_expand_substitutes_params_and_defaults():
    out, errors = _expand(BLOCKS)
    assert not errors.errors
    assert [(u.op, tuple(a.value for a in u.args)) for u in out] == [
        ("conv2d", (8, 5)), ("relu", ()), ("maxpool", (2,)),
        ("conv2d", (8, 3)), ("relu", ()), ("maxpool", (2,))]


def test_expand_leaves_builtin_layers_and_residual_bodies():
    out, errors = _expand("block b(n) { dense(n) }\nmodel m { input [4]; residual { b(4); relu }; dense(2) }")
    assert not errors.errors
    body = [u for u, _scope in out[0].body if not isinstance(u, blocks.Alias)]
    assert isinstance(out[0], S.Residual) and [u.op for u in body] == ["dense", "relu"]
    assert body[0].args[0].value == 4 and out[1].op == "dense"


@pytest.mark.parametrize("text, cycle", [
    ("block a(n) { a(n) }\nmodel m { input [4]; a(1) }", "a -> a"),
    ("block a(n) { b(n) }\nblock b(n) { c(n) }\nblock c(n) { a(n) }\nmodel m { input [4]; a(1) }", "a -> b -> c -> a"),
])
def test_expand_reports_cycles(text, cycle):
    out, errors = _expand(text)
    assert len(errors.errors) == 1
    e = errors.errors[0]
    assert f"({cycle})" in e.message and e.pos.line >= 1 and e.pos.column >= 1


def test_expand_unknown_layer_suggests_block_names():
    out, errors = _expand("block conv_pool(n) { relu }\nmodel m { input [4]; conv_poll(1) }")
    assert errors.errors[0].hint == "did you mean `conv_pool`?"


def test_expand_deep_but_finite_nesting_is_fine():
    text = "".join(f"block b{i}(n) {{ b{i + 1}(n) }}\n" for i in range(30)) + "block b30(n) { dense(n) }\n"
    out, errors = _expand(text + "model m { input [4]; b0(3) }")
    assert not errors.errors and [u.op for u in out] == ["dense"]


# ---- layers.resolve_args ----------------------------------------------------

def test_resolve_args_fills_defaults_in_resolved_form():
    r = layers.resolve_args(use("conv2d", 6, 5))
    assert r.attrs == {"filters": 6, "kernel": (5, 5), "stride": (1, 1), "pad": (0, 0, 0, 0), "init": "auto",
                       "bias": True, "dilation": (1, 1), "groups": 1, "bias_init": "zeros"}
    r = layers.resolve_args(use("maxpool", 2))
    assert r.attrs == {"size": (2, 2), "stride": None, "pad": (0, 0, 0, 0)}


def test_resolve_args_errors_point_at_the_value():
    bad = S.Lit(0, Pos("<t>", 3, 17), "0")
    u = S.LayerUse("dense", (bad,), (), Pos("<t>", 3, 11), True)
    with pytest.raises(SpecError) as e:
        layers.resolve_args(u)
    assert e.value.pos == Pos("<t>", 3, 17)


# ---- resolve_pad / infer_shape ----------------------------------------------

def tf_same(size, k, s):
    """TensorFlow's SAME rule, written from its documentation: out = ceil(in / s),
    pad_total = max((out - 1) * s + k - in, 0), the extra pixel at the end."""
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2, out


@pytest.mark.parametrize("h, w, kh, kw, s", list(itertools.product([5, 6, 7, 28], [4, 9], [1, 2, 3, 4, 5], [2, 4], [1, 2, 3])))
def test_same_padding_follows_tensorflow(h, w, kh, kw, s):
    top, bottom, out_h = tf_same(h, kh, s)
    left, right, out_w = tf_same(w, kw, s)
    assert resolve_pad("same", (kh, kw), (s, s), (h, w)) == (top, left, bottom, right)
    if kh <= h and kw <= w:
        r = raw("conv2d", 3, S.ListV((lit(kh), lit(kw))), stride=s, pad=S.NameV("same"))
        assert layers.infer_shape(r, (2, h, w)) == (3, out_h, out_w)


def test_same_examples_by_hand():
    assert resolve_pad("same", (2, 2), (2, 2), (5, 5)) == (0, 0, 1, 1)  # even kernel, stride 2: extra at the end
    assert resolve_pad("same", (4, 4), (1, 1), (7, 7)) == (1, 1, 2, 2)
    assert resolve_pad("same", (3, 3), (1, 1), (8, 8)) == (1, 1, 1, 1)
    assert resolve_pad("same", (1, 1), (2, 2), (4, 4)) == (0, 0, 0, 0)
    assert resolve_pad("valid", (3, 3), (1, 1), (8, 8)) == (0, 0, 0, 0)
    assert resolve_pad((1, 2), (3, 3), (1, 1), (8, 8)) == (1, 2, 1, 2)


def test_same_padding_agrees_with_torch_conv():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    for h, k, s in [(5, 2, 2), (7, 4, 1), (28, 5, 2), (9, 3, 3)]:
        t, l, b, r = resolve_pad("same", (k, k), (s, s), (h, h))
        x = F.pad(torch.zeros(1, 1, h, h), (l, r, t, b))
        y = F.conv2d(x, torch.zeros(1, 1, k, k), stride=s)
        assert y.shape[-1] == math.ceil(h / s)


@pytest.mark.parametrize("op, args, kwargs, shape, out", [
    ("dense", (7,), {}, (5,), (7,)),
    ("dense", (7,), {}, (3, 5), (3, 7)),
    ("maxout", (4,), {"pieces": 3}, (5,), (4,)),
    ("conv2d", (6, 5), {}, (1, 28, 28), (6, 24, 24)),
    ("conv2d", (6, 3), {"stride": 2, "pad": 1}, (3, 32, 32), (6, 16, 16)),
    ("maxpool", (2,), {}, (6, 24, 24), (6, 12, 12)),
    ("avgpool", (3,), {"stride": 1}, (6, 5, 5), (6, 3, 3)),
    ("l2pool", (2,), {}, (6, 5, 5), (6, 2, 2)),  # floor, no padding
    ("flatten", (), {}, (50, 4, 4), (800,)),
    ("dropout", (0.5,), {}, (10,), (10,)),
    ("batchnorm", (), {}, (3, 4, 4), (3, 4, 4)),
    ("relu", (), {}, (3, 4, 4), (3, 4, 4)),
])
def test_infer_shape(op, args, kwargs, shape, out):
    assert layers.infer_shape(raw(op, *args, **kwargs), shape) == out


@pytest.mark.parametrize("op, args, shape, words", [
    ("dense", (10,), (1, 28, 28), ["dense_1 expects a vector [D] or a sequence [T, D] but gets [1, 28, 28]", "add flatten"]),
    ("conv2d", (6, 5), (784,), ["conv2d_1 expects an image", "[784]"]),
    ("conv2d", (6, 9), (1, 8, 8), ["window 9x9 is larger than its input 8x8"]),
    ("maxpool", (30,), (6, 24, 24), ["window 30x30", "24x24"]),
])
def test_infer_shape_errors_name_layer_and_shapes(op, args, shape, words):
    with pytest.raises(SpecError) as e:
        layers.infer_shape(raw(op, *args), shape)
    for w in words:
        assert w in e.value.message


# ---- init=auto ----------------------------------------------------------------

@pytest.mark.parametrize("after, expected", [
    ("relu", "he_normal"), ("leaky_relu", "he_normal"), ("prelu", "he_normal"),
    ("selu", "lecun_normal"),
    ("tanh", "glorot_normal"), ("sigmoid", "glorot_normal"), ("softmax", "glorot_normal"), ("elu", "glorot_normal"),
    ("dropout(0.5); relu", "he_normal"), ("batchnorm; selu", "lecun_normal"),
    ("batchnorm; dropout(0.1); prelu", "he_normal"), ("flatten; relu", "he_normal"),
    ("dense(3); relu", "glorot_normal"),  # the next layer is not an activation: nothing to adapt to
    ("", "glorot_normal"),  # last layer
])
def test_auto_init_dense(after, expected):
    p = compile_text(f"model m {{ input [4]; dense(5); {after} }}")
    d = p.model.layers[0]
    assert d.attrs["init"] == expected and d.param("weight").init == expected
    assert d.param("bias").init == "zeros"


def test_auto_init_skips_pooling_and_flatten_after_conv():
    p = compile_text("model m { input [1, 8, 8]; conv2d(2, 3); maxpool(2); batchnorm; flatten; relu; maxout(3); selu }")
    conv, maxout = p.model.layers[0], p.model.layers[5]
    assert conv.param("weight").init == "he_normal"
    assert maxout.param("weight").init == "lecun_normal"


def test_explicit_init_is_kept():
    p = compile_text("model m { input [4]; dense(5, init=normal(0.02)); relu; dense(2, init=he_uniform); tanh }")
    a, b = p.model.layers[0], p.model.layers[2]
    assert (a.param("weight").init, a.param("weight").init_args) == ("normal", {"std": 0.02})
    assert b.param("weight").init == "he_uniform"


def test_fans():
    p = compile_text("model m { input [3, 8, 8]; conv2d(4, [3, 5]); flatten; dense(6); maxout(2, pieces=3) }")
    conv, _, dense, mo = p.model.layers
    w = conv.param("weight")
    assert (w.shape, w.fan_in, w.fan_out) == ((4, 3, 3, 5), 3 * 15, 4 * 15)
    assert (dense.param("weight").fan_in, dense.param("weight").fan_out) == (4 * 6 * 4, 6)
    assert mo.param("weight").shape == (6, 6)


# ---- names ---------------------------------------------------------------------

def test_default_names_skip_user_names():
    p = compile_text('model m { input [4]; dense(3, name="dense_1"); dense(3); relu; dense(2) }')
    assert [l.name for l in p.model.layers] == ["dense_1", "dense_2", "relu_1", "dense_3"]


def test_names_inside_residual_are_global():
    """The residual is named before its body (v1's order) and becomes an `add` after it."""
    p = compile_text("model m { input [4]; dense(4); residual { dense(4); relu }; dense(4) }")
    assert [l.name for l in p.all_layers()] == ["dense_1", "dense_2", "relu_1", "residual_1", "dense_3"]
    add = p.model.layers[3]
    assert add.op == "add" and add.inputs == ("dense_1", "relu_1")


# ---- values ----------------------------------------------------------------------

def test_value_checks():
    assert values.as_int(lit(3), "x", lo=1) == 3
    with pytest.raises(SpecError, match="whole number"):
        values.as_int(lit(True), "x")
    with pytest.raises(SpecError, match="> 0"):
        values.as_float(lit(0.0), "x", lo=0.0, lo_open=True)
    assert values.as_pair(S.ListV((lit(2), lit(3))), "x") == (2, 3)
    with pytest.raises(SpecError, match="list of two"):
        values.as_pair(S.ListV((lit(2),)), "x")


def test_bind_errors():
    schema = {"a": values.REQUIRED, "b": 1}
    with pytest.raises(SpecError, match="needs `a`"):
        values.bind("f", (), (), schema, "thing", Pos())
    with pytest.raises(SpecError, match="at most 2 positional"):
        values.bind("f", (lit(1), lit(2), lit(3)), (), schema, "thing", Pos())
    with pytest.raises(SpecError, match="given twice"):
        values.bind("f", (lit(1),), (S.KwArg("a", lit(2)),), schema, "thing", Pos())


def test_collected_errors_are_sorted_by_position():
    with pytest.raises(SpecErrors) as e:
        compile_text("model m { input [4]; dense(0); relu; dense(0) }\ntrain { loss = mse; optimizer = sgd(lr=-1) }")
    pos = [(x.pos.line, x.pos.column) for x in e.value.errors]
    assert pos == sorted(pos) and len(pos) >= 3


def test_early_stop_monitor_loss_means_the_training_loss():
    """`monitor=loss` (Keras' name) resolves to the column the driver logs, so check and train agree."""
    from specc.frontend import compile_text

    p = compile_text("model m { input [2]; dense(2); softmax }\ndata { source = xor() }\n"
                     "train { loss = cross_entropy; optimizer = sgd(lr=0.1); early_stop = patience(2, monitor=loss) }")
    assert p.train.early_stop.monitor == "train_loss"
