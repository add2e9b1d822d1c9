"""What each op lowers to in ONNX, and that large inputs stay finite.

Whether every op's exported graph computes the right values (onnxruntime and
the ReferenceEvaluator against NumPy, at several batch sizes) is the
conformance suite's job (tests/conformance/test_onnx.py). Here: the nodes each
op becomes, one node where ONNX has the op and short compositions otherwise,
so a lowering that silently grows (an Identity chain, a decomposed op where
ONNX has one) is noticed.
"""
import numpy as np
import pytest
from onnx_build import program, random_params

V = (6,)
IMG = (2, 9, 9)

# op -> [(input shape, the model body as (op, args) items, the node types of the exported graph)]
NODES = {
    "dense": [(V, [("dense", dict(units=4))], ["Gemm"]), (V, [("dense", dict(units=4, bias=False))], ["Gemm"])],
    "conv2d": [(IMG, [("conv2d", dict(filters=3, kernel=3))], ["Conv"]),
               (IMG, [("conv2d", dict(filters=2, kernel=4, pad=(1, 2, 2, 1), bias=False))], ["Conv"])],
    "maxpool": [(IMG, [("maxpool", dict(size=3, stride=2))], ["MaxPool"])],
    "avgpool": [(IMG, [("avgpool", dict(size=(2, 3)))], ["AveragePool"])],
    "l2pool": [(IMG, [("l2pool", dict(size=2, stride=1))], ["LpPool"])],
    "flatten": [(IMG, [("flatten", {})], ["Flatten"])],
    "dropout": [(V, [("dropout", dict(p=0.5)), ("relu", {})], ["Relu"])],
    "batchnorm": [(V, [("batchnorm", dict(eps=1e-3))], ["BatchNormalization"]),
                  (IMG, [("batchnorm", {})], ["BatchNormalization"])],
    "groupnorm": [((4, 3, 3), [("groupnorm", dict(groups=2))],
                   ["Reshape", "ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Shape", "Reshape",
                    "Reshape", "Mul", "Reshape", "Add"])],
    "maxout": [(V, [("maxout", dict(units=3, pieces=4))], ["Gemm", "Reshape", "ReduceMax"])],
    "add": [(V, [("residual", [("dense", dict(units=6)), ("tanh", {})])], ["Gemm", "Tanh", "Add"]),
            (IMG, [("residual", [("conv2d", dict(filters=2, kernel=3, pad=1)), ("relu", {})])], ["Conv", "Relu", "Add"]),
            (V, [("dense", dict(units=3, name="a")), ("from", dict(name="x")), ("dense", dict(units=3)),
                 ("add", dict(refs=["a", "dense_1"]))], ["Gemm", "Gemm", "Add"])],
    "multiply": [(V, [("dense", dict(units=3, name="a")), ("from", dict(name="x")), ("dense", dict(units=3)),
                      ("multiply", dict(refs=["a", "dense_1", "a"]))], ["Gemm", "Gemm", "Mul", "Mul"])],
    "concat": [(V, [("dense", dict(units=3, name="a")), ("from", dict(name="x")), ("dense", dict(units=2)),
                    ("concat", dict(refs=["a", "dense_1"]))], ["Gemm", "Gemm", "Concat"]),
               (IMG, [("conv2d", dict(filters=2, kernel=3, pad=1, name="a")), ("from", dict(name="x")),
                      ("concat", dict(refs=["a", "x"]))], ["Conv", "Concat"])],
    "identity": [(V, [("identity", {}), ("relu", {})], ["Relu"])],
    "step": [(V, [("step", dict(threshold=0.5))], ["Greater", "Cast"])],
    "sigmoid": [(V, [("sigmoid", {})], ["Sigmoid"]), (V, [("sigmoid", dict(steepness=2.5))], ["Mul", "Sigmoid"])],
    "tanh": [(V, [("tanh", {})], ["Tanh"])],
    "scaled_tanh": [(V, [("scaled_tanh", {})], ["Mul", "Tanh", "Mul"])],
    "hard_sigmoid": [(V, [("hard_sigmoid", {})], ["HardSigmoid"])],
    "relu": [(V, [("relu", {})], ["Relu"])],
    "leaky_relu": [(V, [("leaky_relu", dict(alpha=0.2))], ["LeakyRelu"])],
    "prelu": [(V, [("prelu", {})], ["PRelu"]), (IMG, [("prelu", {})], ["PRelu"])],
    "elu": [(V, [("elu", dict(alpha=0.7))], ["Elu"])],
    "selu": [(V, [("selu", {})], ["Selu"])],
    "softplus": [(V, [("softplus", {})], ["Softplus"])],
    "gelu": [(V, [("gelu", {})], ["Div", "Erf", "Add", "Mul", "Mul"])],
    "softmax": [(V, [("softmax", {})], ["Softmax"])],
    "log_softmax": [(V, [("log_softmax", {})], ["LogSoftmax"])],
}
LOWERINGS = [pytest.param(shape, items, nodes, id=f"{op}-{i}")
             for op, rows in NODES.items() for i, (shape, items, nodes) in enumerate(rows)]


def test_node_table_names_real_ops():
    from specc.backends.onnx.lower import OP_TABLE

    assert set(NODES) - set(OP_TABLE) == set()


@pytest.mark.parametrize("shape,items,nodes", LOWERINGS)
def test_op_lowers_to_expected_nodes(shape, items, nodes):
    from onnx_helpers import export_checked

    prog = program(shape, items)
    model = export_checked(prog, random_params(prog))
    assert [n.op_type for n in model.graph.node] == nodes
    used = {i for n in model.graph.node for i in n.input}
    assert all(i.name in used for i in model.graph.initializer)


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
