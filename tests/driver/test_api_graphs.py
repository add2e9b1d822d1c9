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
