"""Sequence layers beyond the conformance cases: all-padding sequences, PyTorch's own modules, the GPT block."""
from __future__ import annotations

import numpy as np
import pytest

from specc.frontend import compile_text

ALL_PADDING = np.array([[3, 1, 4, 1, 5], [2, 6, 0, 0, 0], [0, 0, 0, 0, 0]])  # the last sequence is all padding


def program(body: str, t: int = 5, vocab: int = 7):
    return compile_text(f"model m {{\n    input x [{t}] int\n    embedding({vocab}, 4, pad=0)\n    {body}\n}}\n")


def params_of(prog, seed=0):
    rng = np.random.default_rng(seed)
    return {key: rng.standard_normal(p.shape).astype(np.float32) for key, _, p in prog.all_params()}


def numpy_out(prog, params, x):
    from specc.backends.numpy.model import Network

    return Network(prog.model, params).outputs(x)


def torch_out(prog, params, x):
    torch = pytest.importorskip("torch")
    from specc.backends.torch.model import build_model

    model = build_model(prog, params).eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def onnx_out(prog, params, x):
    from specc.backends.onnx import runtime
    from specc.backends.onnx.export import build_model

    return runtime.session(build_model(prog, params)).run(None, {"x": x})[0]


@pytest.mark.parametrize("body", ["attention(2)", "attention(2, causal=true)", "global_maxpool", "global_avgpool",
                                  "last"])
def test_an_all_padding_sequence_gives_zeros_on_every_backend(body):
    prog = program(body)
    params = params_of(prog)
    want = numpy_out(prog, params, ALL_PADDING)
    if body != "last":  # last of an all-padding sequence is position 0 (defined, not zero)
        assert np.all(want[2] == 0) and np.all(np.isfinite(want))
    assert np.abs(want[:2]).sum() > 0
    for run in (torch_out, onnx_out):
        np.testing.assert_allclose(run(prog, params, ALL_PADDING), want, rtol=1e-5, atol=1e-6, err_msg=run.__name__)


def test_padding_keys_do_not_change_the_real_positions():
    """Changing the tokens under padding changes nothing at real positions (attention never looks there)."""
    prog = program("attention(2); dense(3)")
    params = params_of(prog)
    x = ALL_PADDING[:2].copy()
    other = x.copy()
    other[1, 2:] = 0  # already padding: make the embedding rows differ instead
    params2 = dict(params)
    w = params2["embedding_1.weight"].copy()
    w[0] += 5.0  # the pad token's vector
    params2["embedding_1.weight"] = w
    a, b = numpy_out(prog, params, x), numpy_out(prog, params2, x)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6)
    np.testing.assert_allclose(a[1, :2], b[1, :2], rtol=1e-6)


def test_attention_weights_load_into_nn_multihead_attention():
    """The documented mapping: in_proj_weight = q, k, v weights stacked; out_proj = o; key_padding_mask = ~mask."""
    torch = pytest.importorskip("torch")
    prog = compile_text("model m {\n    input x [5, 6]\n    attention(3)\n}\n")
    params = params_of(prog)
    x = np.random.default_rng(1).standard_normal((2, 5, 6)).astype(np.float32)
    mha = torch.nn.MultiheadAttention(6, 3, batch_first=True)
    p = {k.split(".", 1)[1]: torch.from_numpy(v) for k, v in params.items()}
    mha.load_state_dict({"in_proj_weight": torch.cat([p["q.weight"], p["k.weight"], p["v.weight"]]),
                         "in_proj_bias": torch.cat([p["q.bias"], p["k.bias"], p["v.bias"]]),
                         "out_proj.weight": p["o.weight"], "out_proj.bias": p["o.bias"]})
    with torch.no_grad():
        want = mha(*(torch.from_numpy(x),) * 3, need_weights=False)[0].numpy()
    np.testing.assert_allclose(numpy_out(prog, params, x), want, rtol=1e-5, atol=1e-6)


def test_torch_lowers_onto_the_library_modules():
    torch = pytest.importorskip("torch")
    from specc.backends.torch.model import build_model

    prog = program("layernorm")
    model = build_model(prog)
    assert isinstance(model.embedding_1, torch.nn.Embedding) and isinstance(model.layernorm_1, torch.nn.LayerNorm)


GPT = """model char_lm {{
    input text [{t}] int
    embedding({v}, 16)
    pos_embedding
    gpt_block(heads=2, d=16, ff=32, p=0)
    gpt_block(heads=2, d=16, ff=32, p=0)
    layernorm
    dense({v})
    softmax
}}

block gpt_block(heads, d, ff, p=0.1) {{
    residual {{ layernorm; attention(heads, causal=true); dropout(p) }}
    residual {{ layernorm; dense(ff); gelu; dense(d); dropout(p) }}
}}

train {{
    loss = cross_entropy
    optimizer = adam(lr=0.003)
    batch = 8
    steps = {steps}
    seed = 1
}}
"""


def test_the_gpt_block_compiles_with_the_documented_parameter_names():
    prog = compile_text(GPT.format(t=8, v=11, steps=50))
    keys = [key for key, _, _ in prog.all_params()]
    assert "attention_2.q.weight" in keys and "attention_2.o.bias" in keys and "layernorm_5.bias" in keys
    assert prog.model.output_shape == (8, 11)
    from specc.frontend import check_program

    assert check_program(prog).model == prog.model  # printed (spec.nn) and compiled again: the same graph


def test_a_char_gpt_follows_the_same_loss_curve_on_numpy_and_torch_for_50_steps():
    """Every one of 50 training steps (adam, dropout 0) gives the same loss on both backends."""
    pytest.importorskip("torch")
    from specc.backend_lookup import backend_class
    from specc.init import initial_params

    prog = compile_text(GPT.format(t=8, v=11, steps=50))
    rng = np.random.default_rng(0)
    text = rng.integers(0, 11, 600)
    windows = np.stack([text[i:i + 9] for i in range(0, 590, 5)])
    x, y = windows[:, :-1], windows[:, 1:]
    params = initial_params(prog)
    curves = {}
    for name in ("numpy", "torch"):
        backend = backend_class(name)(prog, params, seed=1, **({"device": "cpu"} if name == "torch" else {}))
        backend.put_data("train", [x], [y])
        backend.set_order(np.arange(len(x)))
        handles = []
        for step in range(50):
            start = (step * 8) % (len(x) - 8)
            handles.append(backend.train_step(start, start + 8, 0.003, step))
        curves[name] = backend.losses_to_numpy(handles)
    np.testing.assert_allclose(curves["torch"], curves["numpy"], rtol=1e-4)
    assert curves["numpy"][-5:].mean() < curves["numpy"][:5].mean() - 0.2


def test_onnx_lowerings_take_a_shorter_sequence_than_declared():
    """pos_embedding, causal attention, dense and last read T from the input, so an exported model
    whose sequence axis is made dynamic runs on a prefix (what generation needs)."""
    from specc.backends.onnx import runtime
    from specc.backends.onnx.export import build_model

    prog = program("pos_embedding; attention(2, causal=true); dense(5, name=\"d\"); last", t=6)
    params = params_of(prog)
    model = build_model(prog, params)
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "T"
    model.graph.output[0].type.tensor_type.shape.ClearField("dim")
    x = np.array([[3, 1, 4, 1, 5, 2], [2, 6, 1, 0, 0, 0]])
    from specc.backends.numpy.model import Network
    from specc.backends.numpy.ops import Context

    env = Network(prog.model, params).forward(x, Context())
    got = runtime.session(model).run(None, {"x": x[:, :4]})[0]
    want = env["d"][[0, 1], [3, 2]]  # causal: the first 4 positions see only themselves; last real positions 3, 2
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
