"""Whole models: equivalence, preprocessing inside the graph, metadata, graph quality."""
import json
from collections import Counter

import numpy as np
import pytest
from onnx_build import program, random_params
from onnx_helpers import assert_equivalent, export_checked, inputs

from specc.backends.onnx import runtime
from specc.backends.onnx.export import build_model
from specc.errors import SpecError

MLP = ((784,), [("dense", dict(units=100)), ("sigmoid", {}), ("dense", dict(units=10)), ("softmax", {})])
LENET = ((1, 28, 28), [("conv2d", dict(filters=6, kernel=5, pad=2)), ("relu", {}), ("maxpool", dict(size=2)),
                       ("conv2d", dict(filters=16, kernel=5)), ("relu", {}), ("maxpool", dict(size=2)),
                       ("flatten", {}), ("dense", dict(units=120)), ("relu", {}),
                       ("dense", dict(units=84)), ("relu", {}), ("dense", dict(units=10)), ("softmax", {})])
MIXED = ((3, 8, 8), [("conv2d", dict(filters=4, kernel=3, pad=1)), ("batchnorm", {}), ("prelu", {}),
                     ("residual", [("conv2d", dict(filters=4, kernel=3, pad=1)), ("elu", {}),
                                   ("dropout", dict(p=0.2))]),
                     ("l2pool", dict(size=2)), ("avgpool", dict(size=2)), ("flatten", {}),
                     ("maxout", dict(units=5, pieces=3)), ("scaled_tanh", {}), ("dense", dict(units=3)),
                     ("log_softmax", {})])
MODELS = {"mlp": MLP, "lenet": LENET, "mixed": MIXED}


def _prep(shape, seed=3):
    rng = np.random.default_rng(seed)
    return {"scale": 1 / 255, "mean": rng.uniform(0, 0.5, shape).astype(np.float32),
            "std": rng.uniform(0.5, 2, shape).astype(np.float32)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_other_runtimes(name):
    shape, items = MODELS[name]
    prog = program(shape, items)
    # raw inputs in 0..255 as a deployed model receives them; the graph scales and standardizes
    assert_equivalent(prog, random_params(prog), preprocess=_prep(shape), x_scale=255.0,
                      reference=name != "lenet")  # ReferenceEvaluator's conv is slow; mixed covers it


def test_preprocessing_is_inside_the_graph():
    prog = program((3,), [("identity", {})])
    prep = {"scale": 0.5, "mean": np.array([1, 2, 3], np.float32), "std": np.array([2, 4, 8], np.float32)}
    sess = runtime.session(export_checked(prog, {}, prep))
    x = np.array([[2, 4, 6], [0, 0, 0]], np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], (x * 0.5 - prep["mean"]) / prep["std"])


def test_identity_only_model_needs_one_identity():
    model = export_checked(program((3,), [("identity", {}), ("dropout", dict(p=0.1))]), {})
    assert [n.op_type for n in model.graph.node] == ["Identity"]


def test_metadata_and_dynamic_batch():
    shape, items = MLP
    prog = program(shape, items, name="mnist_mlp", input_name="image")
    classes = [str(i) for i in range(10)]
    model = export_checked(prog, random_params(prog), _prep(shape), classes)
    meta = runtime.metadata(model)
    assert meta["model_name"] == "mnist_mlp" and json.loads(meta["classes"]) == classes
    assert meta["output_kind"] == "probabilities" and meta["specc_version"]
    assert "standardized" in meta["input_description"] and "probabilities" in meta["output_description"]
    assert model.opset_import[0].version >= 17
    (inp,) = model.graph.input
    assert inp.name == "image" and inp.type.tensor_type.shape.dim[0].dim_param == "N"
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "N"


def _graph_stats(model):
    used = {i for n in model.graph.node for i in n.input}
    return Counter(n.op_type for n in model.graph.node), [i.name for i in model.graph.initializer if i.name not in used]


def test_graph_quality_one_node_per_op():
    for name, (shape, items) in MODELS.items():
        prog = program(shape, items)
        ops, unused = _graph_stats(export_checked(prog, random_params(prog)))
        assert unused == [], name
        assert ops["Identity"] == 0, name
    prog = program(*LENET)
    ops, _ = _graph_stats(export_checked(prog, random_params(prog)))
    assert ops == Counter(Conv=2, Relu=4, MaxPool=2, Flatten=1, Gemm=3, Softmax=1)
    prog = program(*MLP)
    assert sum(_graph_stats(export_checked(prog, random_params(prog)))[0].values()) == 4


def test_every_node_names_its_layer_and_line():
    prog = program(*MIXED)
    model = export_checked(prog, random_params(prog), _prep(MIXED[0]))
    names = {layer.name: layer.pos.line for layer in prog.all_layers()}
    for node in model.graph.node:
        if node.doc_string.startswith("preprocess"):
            continue
        layer = node.doc_string.split()[1]
        assert layer in names and f"test.nn:{names[layer]}" in node.doc_string, node.doc_string


def test_missing_and_misshapen_weights_are_spec_errors():
    prog = program(*MLP)
    params = random_params(prog)
    del params["dense_1.bias"]
    params["dense_2.weight"] = params["dense_2.weight"].T
    with pytest.raises(SpecError) as e:  # every problem in one message (checkpoint.check_weights)
        build_model(prog, params)
    text = e.value.render()
    assert "missing dense_1.bias" in text and "[100, 10]" in text and "[10, 100]" in text


def test_batch_sizes_agree_with_each_other():
    """Row i of a batch of 37 equals the same row run alone (no batch coupling)."""
    prog = program(*MIXED)
    sess = runtime.session(export_checked(prog, random_params(prog)))
    x = inputs(prog, 37)
    full = sess.run(None, {"x": x})[0]
    np.testing.assert_allclose(sess.run(None, {"x": x[5:6]})[0], full[5:6], rtol=1e-5, atol=1e-6)


SPEC_TEXT = """\
model from_text {
    input image [3, 10, 10]
    conv2d(4, 4, pad=same)
    batchnorm(eps=0.001)
    prelu
    residual {
        conv2d(4, 3, pad=1, bias=false)
        leaky_relu(alpha=0.1)
        dropout(0.5)
    }
    l2pool(2)
    maxpool(3, stride=1)
    flatten
    maxout(6, pieces=3)
    scaled_tanh
    dense(5, init=he_uniform)
    sigmoid(steepness=2)
    dense(4)
    hard_sigmoid
    dense(3)
    softmax
}
"""


def test_model_compiled_from_spec_text():
    """The front end's resolved attrs (pad=same as a 4-tuple, default names) export correctly."""
    frontend = pytest.importorskip("specc.frontend")
    prog = frontend.compile_text(SPEC_TEXT, path="from_text.nn")
    model = assert_equivalent(prog, random_params(prog), preprocess=_prep(prog.model.input_shape), x_scale=255.0)
    line_of = {n.name.split("/")[0]: n.doc_string for n in model.graph.node}
    assert "from_text.nn:3" in line_of["conv2d_1"] and "from_text.nn:7" in line_of["conv2d_2"]
