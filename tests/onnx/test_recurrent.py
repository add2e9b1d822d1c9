"""The rnn / lstm / gru lowerings on arrays, with padding masks: torch module and ONNX
operators (run by onnxruntime) against the NumPy unit, layer by layer.

The conformance suite runs these ops through whole compiled specs; here the mask
comes straight from the test, so odd cases are easy to pose: unsorted lengths, a
sequence of length 1, a full one. Float32 everywhere; 1e-5 as in onnx_helpers
(a wrong gate order or a missing bias changes outputs by O(0.1)).
"""
from __future__ import annotations

import itertools

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from specc.backends.numpy.ops import OPS, Context
from specc.backends.onnx import recurrent as onnx_recurrent
from specc.backends.onnx.graph import GraphBuilder
from specc.backends.torch import recurrent as torch_recurrent
from specc.ir import Layer

TOL = 1e-5
N, T, D, UNITS = 4, 5, 3, 4
LENGTHS = [5, 2, 1, 3]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}

CONFIGS = [pytest.param(op, act, seq, bi, masked, id=f"{op}{'-relu' if act == 'relu' else ''}"
                        f"{'-seq' if seq else '-last'}{'-bi' if bi else ''}{'-mask' if masked else ''}")
           for op, act in (("rnn", "tanh"), ("rnn", "relu"), ("lstm", None), ("gru", None))
           for seq, bi, masked in itertools.product((False, True), repeat=3)]


def make_layer(op, act, seq, bi) -> Layer:
    attrs = {"units": UNITS, "sequences": seq, "bidirectional": bi}
    if op == "rnn":
        attrs["act"] = act
    units = UNITS * (2 if bi else 1)
    return Layer(f"{op}_1", op, attrs, ("x",), ((T, D),), (T, units) if seq else (units,))


def random_params(layer, seed=0):
    rng = np.random.default_rng(seed)
    rows = GATES[layer.op] * UNITS
    shapes = {"weight_ih_l0": (rows, D), "weight_hh_l0": (rows, UNITS), "bias_ih_l0": (rows,), "bias_hh_l0": (rows,)}
    return {f"{name}{suffix}": rng.uniform(-0.8, 0.8, shape).astype(np.float32)
            for suffix in (("", "_reverse") if layer.attrs["bidirectional"] else ("",))
            for name, shape in shapes.items()}


def numpy_output(layer, params, x, mask):
    ctx = Context(False)
    ctx.mask = mask
    return OPS[layer.op].forward(x, params, layer.attrs, ctx)[0]


def onnx_output(layer, params, x, mask):
    import onnxruntime as ort

    g = GraphBuilder({layer.key(k): v for k, v in params.items()})
    g.enter(layer)
    y = onnx_recurrent.lower(g, layer, "x", mask="mask" if mask is not None else None)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", T, D])]
    if mask is not None:
        inputs.append(helper.make_tensor_value_info("mask", TensorProto.BOOL, ["N", T]))
    graph = helper.make_graph(g.nodes, "m", inputs, [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N"] + [None] * (2 if layer.attrs["sequences"] else 1))],
                              list(g.initializers.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"x": x} if mask is None else {"x": x, "mask": mask}
    return session.run(None, feeds)[0]


def torch_output(layer, params, x, mask):
    module = torch_recurrent.build(layer)
    module.load_state_dict({k: torch.tensor(v) for k, v in params.items()})  # PyTorch's own keys
    with torch.no_grad():
        return module(torch.tensor(x), mask=None if mask is None else torch.tensor(mask)).numpy()


def inputs(masked, lengths=LENGTHS):
    x = np.random.default_rng(1).standard_normal((N, T, D)).astype(np.float32)
    mask = (np.arange(T)[None, :] < np.array(lengths)[:, None]) if masked else None
    return x, mask


@pytest.mark.parametrize("op,act,seq,bi,masked", CONFIGS)
def test_onnx_and_torch_equal_numpy(op, act, seq, bi, masked):
    layer = make_layer(op, act, seq, bi)
    params = random_params(layer)
    x, mask = inputs(masked)
    expected = numpy_output(layer, params, x, mask)
    np.testing.assert_allclose(torch_output(layer, params, x, mask), expected, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(onnx_output(layer, params, x, mask), expected, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(onnx_output(layer, params, x, mask), expected, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("seq", [False, True])
def test_an_all_padding_sequence_gives_zeros_on_every_backend(seq):
    """pack_padded_sequence refuses length 0; the torch module runs it as length 1 and zeroes it."""
    layer = make_layer("gru", None, seq, True)
    params = random_params(layer)
    x, mask = inputs(True, [5, 0, 2, 3])
    expected = numpy_output(layer, params, x, mask)
    assert (expected[1] == 0).all()
    np.testing.assert_allclose(torch_output(layer, params, x, mask), expected, rtol=TOL, atol=TOL)
    np.testing.assert_allclose(onnx_output(layer, params, x, mask), expected, rtol=TOL, atol=TOL)
