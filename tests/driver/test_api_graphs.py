"""The Python API with several inputs and outputs: predict takes a list or a dict, returns a list."""
import numpy as np
import pytest

import specc
from specc.errors import SpecError


def test_predict_with_two_inputs_and_two_outputs(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((40, 3)).astype(np.float32), rng.standard_normal((40, 2)).astype(np.float32)
    np.savez(tmp_path / "d.npz", a=a, b=b, c=(a[:, 0] > 0).astype(np.int64), r=b * 2)
    spec = tmp_path / "m.nn"
    spec.write_text('model m { input a [3]; input b [2]; dense(4, name="ha"); from b; dense(4, name="hb")\n'
                    "concat(ha, hb); dense(2); softmax; output cls; from hb; dense(2); output reg }\n"
                    'data { source = npz("d.npz", x=["a", "b"], y=["c", "r"]); split = [0.8, 0.2] }\n'
                    "train { loss = {cls: cross_entropy, reg: mse}; optimizer = adam(lr=0.01); batch = 8; epochs = 2 }\n")
    model = specc.compile(str(spec)).train(out=tmp_path / "run")
    by_list = model.predict([a[:5], b[:5]])
    by_name = model.predict({"b": b[:5], "a": a[:5]})
    assert isinstance(by_list, list) and [o.shape for o in by_list] == [(5, 2), (5, 2)]
    for x, y in zip(by_list, by_name):
        np.testing.assert_array_equal(x, y)
    one = model.predict([a[0], b[0]])  # one sample: no batch axis in, none out
    assert [o.shape for o in one] == [(2,), (2,)]
    with pytest.raises(SpecError, match="has 2 inputs"):
        model.predict([a[:5]])


TWO_BY_TWO = ('model m { input a [3]; input b [2]; dense(4, name="ha"); from b; dense(4, name="hb")\n'
              "concat(ha, hb); dense(2); softmax; output cls; from hb; dense(2); output reg }\n"
              "data { standardize = {b: true} }\n"
              "train { loss = {cls: cross_entropy, reg: mse}; optimizer = adam(lr=0.01); batch = 8; epochs = 2\n"
              "        metrics = {cls: [accuracy], reg: [mae]} }\n")


def _arrays(n=60):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, 3)).astype(np.float32), rng.standard_normal((n, 2)).astype(np.float32)
    return a, b, (a[:, 0] > 0).astype(np.int64), b * 2


def test_arrays_from_python_for_several_inputs_and_outputs(tmp_path):
    """x and y as lists (in order) or dicts (by name), as Keras' fit takes them."""
    a, b, c, r = _arrays()
    by_list = specc.compile(TWO_BY_TWO).train(x=[a, b], y=[c, r], val=([a[:10], b[:10]], [c[:10], r[:10]]),
                                              out=tmp_path / "list", quiet=True)
    by_name = specc.compile(TWO_BY_TWO).train(x={"b": b, "a": a}, y={"reg": r, "cls": c},
                                              val=({"a": a[:10], "b": b[:10]}, [c[:10], r[:10]]),
                                              out=tmp_path / "dict", quiet=True)
    for k, v in by_list.params.items():
        np.testing.assert_array_equal(v, by_name.params[k])  # the same data, the same run
    assert {"val_cls_accuracy", "val_reg_mae"} <= set(by_list.history[-1])
    row = by_list.evaluate({"a": a, "b": b}, {"cls": c, "reg": r})
    assert set(row) == {"loss", "cls_accuracy", "reg_mae"}
    assert row == by_list.evaluate([a, b], [c, r])
    want = float(np.mean(np.abs(by_list.predict([a, b])[1] - r)))  # predict applies b's standardization too
    assert row["reg_mae"] == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("x, message", [
    (lambda a, b: [a], "x: the model has 2 inputs (a, b); give one array each, as a list in order or a dict by "
                       "name, not a list of 1"),
    (lambda a, b: {"a": a, "bb": b}, "x: the model's inputs are a, b; got no input 'bb'"),
    (lambda a, b: a, "x: the model has 2 inputs (a, b); give one array each"),
    (lambda a, b: [a, b[:5]], "x has 60 samples but x['b'] has 5"),
])
def test_arrays_for_several_inputs_are_checked(tmp_path, x, message):
    from specc.errors import DataError

    a, b, c, r = _arrays()
    with pytest.raises(DataError) as e:
        specc.compile(TWO_BY_TWO).train(x=x(a, b), y=[c, r], out=tmp_path / "run", quiet=True)
    assert message in str(e.value)
