"""Arrays from Python: train(x=, y=, val=(x, y)), predict(array), evaluate(x, y); NumPy or pandas."""
import numpy as np
import pytest

import specc
from specc.errors import DataError, SpecError

SPEC = """
model blobs {
    input [2]
    dense(8); tanh
    dense(3); softmax
}
train { loss = cross_entropy; optimizer = adam(lr=0.05); batch = 16; epochs = 15; metrics = [accuracy]; seed = 0 }
"""


def blobs(n=150, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0, 4], [4, 0], [-4, -4]], float)
    return centres[y] + rng.normal(size=(n, 2)), y


def test_train_predict_evaluate_on_numpy_arrays(tmp_path):
    x, y = blobs()
    xv, yv = blobs(60, seed=1)
    model = specc.compile(SPEC).train(x=x, y=y, val=(xv, yv), out=tmp_path / "run")
    assert "val_accuracy" in model.history[-1]
    result = model.evaluate(xv, yv)
    assert result["accuracy"] > 0.95 and set(result) >= {"loss", "accuracy"}
    assert (model.predict(xv).argmax(1) == yv).mean() == result["accuracy"]


def test_labels_and_standardize_from_the_spec_with_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    x, y = blobs()
    names = np.array(["north", "east", "south"])
    frame = pd.DataFrame({"a": x[:, 0] * 100 + 7, "b": x[:, 1]})
    # with x= the data block's source is not read; its preprocessing keys apply
    spec = SPEC.replace("train {", "data { source = blobs(n=10); standardize = true }\ntrain {")
    model = specc.compile(spec).train(x=frame, y=pd.Series(names[y]), out=tmp_path / "run")
    assert model.classes == ["east", "north", "south"] or tuple(model.classes) == ("east", "north", "south")
    assert model.evaluate(frame, pd.Series(names[y]))["accuracy"] > 0.95
    assert model.predict(frame).shape == (150, 3)
    again = specc.load(tmp_path / "run")  # the run keeps the statistics fitted on the arrays
    np.testing.assert_allclose(again.predict(frame.to_numpy()), model.predict(frame), rtol=1e-5)


def test_evaluate_uses_the_runs_classes_not_the_labels_present(tmp_path):
    x, y = blobs()
    names = np.array(["a", "b", "c"])
    model = specc.compile(SPEC).train(x=x, y=names[y], out=tmp_path / "run")
    only_c = y == 2
    result = model.evaluate(x[only_c], names[y][only_c])  # one class present: still index 2, not 0
    assert result["accuracy"] > 0.95


@pytest.mark.parametrize("kwargs, pattern", [
    ({"x": [[1, 2]], "y": [0, 1]}, "x has 1 samples but y has 2"),
    ({"x": [[1, np.nan]], "y": [0]}, "sample 0 of x holds a value that is not a finite number"),
    ({"x": [["a", "b"]], "y": [0]}, "x must be numeric"),
    ({"x": np.zeros((4, 3)), "y": np.zeros(4)}, "x has samples of shape \\[3\\] \\(3 values\\); the model input is \\[2\\]"),
    ({"x": np.zeros((4, 2)), "y": np.zeros(4), "val": np.zeros(4)}, "val= takes a pair"),
    ({"y": np.zeros(4)}, "go with x="),
])
def test_bad_arrays_are_clear_errors(tmp_path, kwargs, pattern):
    with pytest.raises((DataError, SpecError), match=pattern):
        specc.compile(SPEC).train(out=tmp_path / "run", **kwargs)


def test_unknown_keyword_arguments_are_an_error(tmp_path):
    x, y = blobs()
    with pytest.raises(SpecError, match="unknown keyword argument 'epochs'"):
        specc.compile(SPEC).train(x=x, y=y, epochs=3, out=tmp_path / "run")
    with pytest.raises(SpecError, match="unknown keyword argument 'devcie'"):
        specc.compile(SPEC).train("numpy", x=x, y=y, devcie="cpu", out=tmp_path / "run")
