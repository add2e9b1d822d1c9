"""Metrics on hand-made outputs and targets, with the values worked out by hand."""
import numpy as np
import pytest

from specc.errors import SpecError
from specc.ir import Spec
from specc.errors import SpecErrors
from specc.frontend import compile_text
from specc.metrics import METRIC_TABLE, compute_metrics, metric_name
from specc.ops import METRICS

OUT = np.array([[0.7, 0.2, 0.1],
                [0.1, 0.3, 0.6],
                [0.3, 0.4, 0.3],
                [0.5, 0.1, 0.4]])
IDX = np.array([0, 1, 1, 2])  # predictions are 0, 2, 1, 0: rows 0 and 2 right


def test_accuracy_class_indices_and_one_hot():
    assert compute_metrics((Spec("accuracy"),), OUT, IDX) == {"accuracy": 0.5}
    onehot = np.eye(3, dtype=np.float32)[IDX]
    assert compute_metrics((Spec("accuracy"),), OUT, onehot)["accuracy"] == 0.5
    soft = onehot * 0.8 + 0.2 / 3  # probability targets: argmax is the class
    assert compute_metrics((Spec("accuracy"),), OUT, soft)["accuracy"] == 0.5


def test_accuracy_single_sigmoid_output():
    out = np.array([[0.9], [0.2], [0.6], [0.4], [0.5]])
    y = np.array([1, 0, 0, 1, 0])  # right, right, wrong, wrong, right (0.5 is not > 0.5)
    assert compute_metrics((Spec("accuracy"),), out, y)["accuracy"] == pytest.approx(3 / 5)
    assert compute_metrics((Spec("accuracy"),), out, y.astype(np.float32)[:, None])["accuracy"] == pytest.approx(3 / 5)
    assert compute_metrics((Spec("accuracy"),), out[:, 0], y)["accuracy"] == pytest.approx(3 / 5)


def test_top_k():
    # target ranks: row0 1st, row1 2nd (0.3 < 0.6), row2 1st, row3 2nd (0.4 < 0.5)
    got = compute_metrics((Spec("top_k", {"k": 1}), Spec("top_k", {"k": 2}), Spec("top_k", {"k": 3})), OUT, IDX)
    assert got == {"top_1": 0.5, "top_2": 1.0, "top_3": 1.0}
    worst = np.array([2, 0, 0, 1])  # ranks 3, 3, 2 (0.4 > 0.3; the tie 0.3 = 0.3 counts for the target), 3
    assert compute_metrics((Spec("top_k", {"k": 2}),), OUT, worst)["top_2"] == 0.25


def test_mse_and_mae():
    out = np.array([[1.0, 2.0], [3.0, 5.0]])
    y = np.array([[1.0, 0.0], [4.0, 5.0]])  # errors 0, 2, -1, 0
    got = compute_metrics((Spec("mse"), Spec("mae")), out, y)
    assert got == {"mse": pytest.approx(5 / 4, rel=1e-15), "mae": pytest.approx(3 / 4, rel=1e-15)}
    # class indices count as one-hot targets
    got = compute_metrics((Spec("mse"),), np.array([[0.5, 0.5]]), np.array([1]))
    assert got["mse"] == pytest.approx(0.25)
    # one output unit, targets [N]
    assert compute_metrics((Spec("mae"),), np.array([[0.25], [1.0]]), np.array([0, 1]))["mae"] == pytest.approx(0.125)


def test_results_are_python_floats_and_empty_is_nan():
    got = compute_metrics((Spec("accuracy"), Spec("mse")), OUT, IDX)
    assert all(type(v) is float for v in got.values())
    assert np.isnan(compute_metrics((Spec("accuracy"),), OUT[:0], IDX[:0])["accuracy"])


def test_names_and_table_cover_the_language():
    assert set(METRIC_TABLE) == set(METRICS)
    assert metric_name(Spec("top_k", {"k": 5})) == "top_5"


@pytest.mark.parametrize("metrics, head, message", [
    ("[acuracy]", "dense(3); softmax", "did you mean `accuracy`"),
    ("[top_k]", "dense(3); softmax", "needs `k`"),
    ("[top_k(0)]", "dense(3); softmax", "at least 1"),
    ("[top_k(5)]", "dense(3); softmax", "needs at least 5 outputs; the model has 3"),
    ("[top_k(1)]", "conv2d(2, 1)", "vector of class scores"),
])
def test_bad_metrics_are_spec_errors(metrics, head, message):
    """Metrics are checked statically by the front end (specc check), at their position."""
    text = (f"model m {{ input [1, 4, 4]; flatten; dense(4); relu; {head} }}\n"
            if "conv" not in head else f"model m {{ input [1, 4, 4]; {head} }}\n")
    text += f"train {{ loss = mse; optimizer = sgd(lr=0.1); metrics = {metrics} }}\n"
    with pytest.raises(SpecErrors) as e:
        compile_text(text, "m.nn")
    assert message in e.value.render() and "m.nn:2:" in e.value.render()
