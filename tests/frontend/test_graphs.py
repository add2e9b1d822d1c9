"""Models as graphs: several inputs, `from`, merges, outputs, block-local names, losses per output.

The errors of graph models have golden files in err/ (graph_*.nn); these tests check the IR
the front end builds and the checks that are not a single error line.
"""
from __future__ import annotations

import dataclasses

import pytest

from specc.errors import SpecErrors
from specc.frontend import check_program, compile_text
from specc.printer import format_program
from specbuild import TWO_HEADS

TWO_INPUTS = """
model two_inputs {
    input image [1, 8, 8]
    input meta [10]
    conv2d(4, 3); relu; maxpool(2); flatten(name="img")
    from meta
    dense(16); relu(name="tab")
    concat(img, tab)
    dense(10); softmax
}
"""

PROJECTION = """
block res(filters, stride=1) {
    relu(name="block_in")
    conv2d(filters, 3, stride=stride, pad=same); batchnorm; relu
    conv2d(filters, 3, pad=same); batchnorm(name="main")
    from block_in
    conv2d(filters, 1, stride=stride); batchnorm(name="short")
    add(main, short)
}
model resnet {
    input x [3, 8, 8]
    conv2d(8, 3, pad=same)
    res(16, stride=2)
    res(16)
    relu; flatten; dense(10); softmax
}
"""

MULTI_OUTPUT = TWO_HEADS + """
train {
    loss = {digit: cross_entropy, recon: mse(weight=0.5)}
    optimizer = adam(lr=0.01)
}
"""


def test_two_inputs_wire_a_concat():
    m = compile_text(TWO_INPUTS).model
    assert [i.name for i in m.inputs] == ["image", "meta"]
    concat = m.producer("concat_1")
    assert concat.inputs == ("img", "tab") and concat.out_shape == (4 * 3 * 3 + 16,)
    assert m.producer("dense_1").inputs == ("meta",)
    assert [o.name for o in m.outputs] == ["output"] and m.outputs[0].value == "softmax_1"


def test_block_local_names_are_prefixed_by_the_use():
    p = compile_text(PROJECTION)
    names = [layer.name for layer in p.model.layers]
    assert "res_1.main" in names and "res_2.main" in names and "res_1.short" in names
    add1 = p.model.producer("add_1")
    assert add1.inputs == ("res_1.main", "res_1.short") and add1.out_shape == (16, 4, 4)
    keys = [k for k, _l, _p in p.all_params()]
    assert "res_1.short.weight" in keys and "res_2.main.running_var" in keys
    # the second use's shortcut starts at its own block_in, not the first use's
    assert p.model.producer("conv2d_5").inputs == ("res_2.block_in",)


def test_a_block_use_name_names_its_last_value():
    p = compile_text("block enc(n) { dense(n); relu }\n"
                     "model m { input x [4]; enc(3, name=\"e\"); dense(2); from e; dense(5) }")
    assert p.model.producer("dense_3").inputs == ("relu_1",)


def test_several_outputs_each_with_its_loss():
    p = compile_text(MULTI_OUTPUT)
    assert [(o.name, o.value) for o in p.model.outputs] == [("digit", "softmax_1"), ("recon", "dense_3")]
    assert [(ol.output, ol.loss.name, ol.weight) for ol in p.train.losses] == [
        ("digit", "cross_entropy", 1.0), ("recon", "mse", 0.5)]


@pytest.mark.parametrize("text", [TWO_INPUTS, PROJECTION, MULTI_OUTPUT])
def test_graphs_print_and_compile_back_to_themselves(text):
    p = compile_text(text)
    printed = format_program(p)
    assert compile_text(printed) == p
    assert format_program(compile_text(printed)) == printed


def test_an_unused_value_is_a_warning_not_an_error():
    p = compile_text("model m { input x [4]; input extra [2]; dense(3, name=\"a\"); from x; dense(2) }")
    messages = [w.message for w in p.warnings]
    assert "value `a` is computed but never used" in messages
    assert "input `extra` is computed but never used" in messages
    assert all(w.severity == "warning" for w in p.warnings)


def test_a_cycle_cannot_be_written():
    """A name can only refer to an earlier value, so a loop is an error at the forward reference."""
    with pytest.raises(SpecErrors) as e:
        compile_text("model m { input x [4]; dense(4, name=\"a\"); add(a, b); dense(4, name=\"b\") }")
    assert "`b` is used before it is defined" in str(e.value)


def test_residual_is_sugar_for_add():
    sugar = compile_text("model m { input x [4]; dense(4); residual { dense(4); tanh } }")
    plain = compile_text('model m { input x [4]; dense(4); dense(4); tanh; add(dense_1, tanh_1, name="residual_1") }')
    assert sugar.model == plain.model


def test_hand_built_programs_go_through_the_same_checker():
    p = compile_text(MULTI_OUTPUT)
    assert check_program(p) is p
    bad_lr = dataclasses.replace(p, train=dataclasses.replace(
        p.train, optimizer=dataclasses.replace(p.train.optimizer, args={**p.train.optimizer.args, "lr": 0.0})))
    with pytest.raises(SpecErrors, match="lr"):
        check_program(bad_lr)
    layers = list(p.model.layers)
    layers[0] = dataclasses.replace(layers[0], out_shape=(9,))  # a shape the op's rule does not give
    with pytest.raises(SpecErrors, match="not what its own spec text compiles to"):
        check_program(dataclasses.replace(p, model=dataclasses.replace(p.model, layers=tuple(layers))))
    same = dataclasses.replace(p)  # equal, but not built by the front end: re-checked and accepted
    assert check_program(same) is same
