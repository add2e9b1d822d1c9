"""Every op, exported alone (plus what it needs around it), equals the other runtimes.

One line per case; each case runs at batch sizes 1 and 37 through onnxruntime,
the NumPy backend, torch.nn.functional and onnx's ReferenceEvaluator
(tolerances in onnx_helpers). Step sits directly on the input so no rounding
difference upstream can flip it at the threshold.
"""
import numpy as np
import pytest
from onnx_build import program, random_params
from onnx_helpers import assert_equivalent

V = (6,)
IMG = (2, 9, 9)

CASES = {
    "dense": (V, [("dense", dict(units=4))]),
    "dense_nobias": (V, [("dense", dict(units=4, bias=False))]),
    "conv2d": (IMG, [("conv2d", dict(filters=3, kernel=3))]),
    "conv2d_stride_pad": (IMG, [("conv2d", dict(filters=3, kernel=(3, 2), stride=(2, 1), pad=1))]),
    "conv2d_asym_pad": (IMG, [("conv2d", dict(filters=2, kernel=4, pad=(1, 2, 2, 1), bias=False))]),
    "maxpool": (IMG, [("maxpool", dict(size=2))]),
    "maxpool_stride": (IMG, [("maxpool", dict(size=3, stride=2))]),
    "avgpool": (IMG, [("avgpool", dict(size=(2, 3)))]),
    "l2pool": (IMG, [("l2pool", dict(size=2, stride=1))]),
    "flatten": (IMG, [("flatten", {})]),
    "dropout": (V, [("dropout", dict(p=0.5)), ("relu", {})]),
    "batchnorm_vec": (V, [("batchnorm", dict(eps=1e-3))]),
    "batchnorm_img": (IMG, [("batchnorm", {})]),
    "maxout": (V, [("maxout", dict(units=3, pieces=4))]),
    "residual": (V, [("residual", [("dense", dict(units=6)), ("tanh", {})])]),
    "residual_conv": (IMG, [("residual", [("conv2d", dict(filters=2, kernel=3, pad=1)), ("relu", {})])]),
    "identity": (V, [("identity", {}), ("relu", {})]),
    "add": (V, [("dense", dict(units=3, name="a")), ("from", dict(name="x")), ("dense", dict(units=3)),
                ("add", dict(refs=["a", "dense_1"]))]),
    "multiply": (V, [("dense", dict(units=3, name="a")), ("from", dict(name="x")), ("dense", dict(units=3)),
                     ("multiply", dict(refs=["a", "dense_1", "a"]))]),
    "concat": (V, [("dense", dict(units=3, name="a")), ("from", dict(name="x")), ("dense", dict(units=2)),
                   ("concat", dict(refs=["a", "dense_1"]))]),
    "concat_img": (IMG, [("conv2d", dict(filters=2, kernel=3, pad=1, name="a")), ("from", dict(name="x")),
                         ("concat", dict(refs=["a", "x"]))]),
    "step": (V, [("step", {})]),
    "step_threshold": (V, [("step", dict(threshold=0.5))]),
    "sigmoid": (V, [("sigmoid", {})]),
    "sigmoid_steep": (V, [("sigmoid", dict(steepness=2.5))]),
    "tanh": (V, [("tanh", {})]),
    "scaled_tanh": (V, [("scaled_tanh", {})]),
    "hard_sigmoid": (V, [("hard_sigmoid", {})]),
    "relu": (V, [("relu", {})]),
    "leaky_relu": (V, [("leaky_relu", dict(alpha=0.2))]),
    "prelu": (V, [("prelu", {})]),
    "prelu_img": (IMG, [("prelu", {})]),
    "elu": (V, [("elu", dict(alpha=0.7))]),
    "selu": (V, [("selu", {})]),
    "softplus": (V, [("softplus", {})]),
    "softmax": (V, [("softmax", {})]),
    "log_softmax": (V, [("log_softmax", {})]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_matches_other_runtimes(case):
    shape, items = CASES[case]
    prog = program(shape, items)
    assert_equivalent(prog, random_params(prog, seed=len(case)))


def _ops(items):
    for op, sub in items:
        yield "add" if op == "residual" else op
        if op == "residual":
            yield from _ops(sub)


def test_cases_cover_every_op():
    from specc.backends.onnx.lower import OP_TABLE

    used = {op for _, items in CASES.values() for op in _ops(items)}
    assert set(OP_TABLE) - used == set()


@pytest.mark.parametrize("op", ["softplus", "softmax", "log_softmax", "sigmoid", "elu", "selu"])
def test_large_inputs_stay_finite(op):
    """Large logits must not overflow to inf/nan in the exported graph (onnxruntime)."""
    from onnx_helpers import export_checked, numpy_forward

    from specc.backends.onnx import runtime

    prog = program((4,), [(op, {})])
    x = np.array([[1000.0, -1000.0, 50.0, 0.0]], np.float32)
    y = runtime.session(export_checked(prog, {})).run(None, {"x": x})[0]
    assert np.isfinite(y).all(), y
    np.testing.assert_allclose(y, numpy_forward(prog, {}, x), rtol=1e-6, atol=1e-6)


# The nodes each case lowers to: one node where ONNX has the op, short compositions otherwise.
NODES = {
    "dense": ["Gemm"], "dense_nobias": ["Gemm"], "conv2d": ["Conv"], "conv2d_stride_pad": ["Conv"],
    "conv2d_asym_pad": ["Conv"], "maxpool": ["MaxPool"], "maxpool_stride": ["MaxPool"],
    "avgpool": ["AveragePool"], "l2pool": ["LpPool"], "flatten": ["Flatten"], "dropout": ["Relu"],
    "batchnorm_vec": ["BatchNormalization"], "batchnorm_img": ["BatchNormalization"],
    "maxout": ["Gemm", "Reshape", "ReduceMax"], "residual": ["Gemm", "Tanh", "Add"],
    "residual_conv": ["Conv", "Relu", "Add"], "identity": ["Relu"], "step": ["Greater", "Cast"],
    "step_threshold": ["Greater", "Cast"], "sigmoid": ["Sigmoid"], "sigmoid_steep": ["Mul", "Sigmoid"],
    "tanh": ["Tanh"], "scaled_tanh": ["Mul", "Tanh", "Mul"], "hard_sigmoid": ["HardSigmoid"],
    "relu": ["Relu"], "leaky_relu": ["LeakyRelu"], "prelu": ["PRelu"], "prelu_img": ["PRelu"], "elu": ["Elu"],
    "selu": ["Selu"], "softplus": ["Softplus"], "softmax": ["Softmax"], "log_softmax": ["LogSoftmax"],
    "add": ["Gemm", "Gemm", "Add"], "multiply": ["Gemm", "Gemm", "Mul", "Mul"], "concat": ["Gemm", "Gemm", "Concat"],
    "concat_img": ["Conv", "Concat"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_op_lowers_to_expected_nodes(case):
    from onnx_helpers import export_checked

    shape, items = CASES[case]
    prog = program(shape, items)
    model = export_checked(prog, random_params(prog))
    assert [n.op_type for n in model.graph.node] == NODES[case]
    used = {i for n in model.graph.node for i in n.input}
    assert all(i.name in used for i in model.graph.initializer)
