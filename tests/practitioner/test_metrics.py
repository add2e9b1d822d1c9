"""precision / recall / f1 / auc / r2 and the confusion matrix against scikit-learn on the same numbers."""
from __future__ import annotations

import numpy as np
import pytest

from specc import metrics
from specc.earlystop import monitor_mode
from specc.errors import SpecErrors
from specc.frontend import compile_text
from specc.ir import Spec

skm = pytest.importorskip("sklearn.metrics")

RNG = np.random.default_rng(1)
N, C = 60, 4
PROBS = RNG.dirichlet(np.ones(C), size=N)
LABELS = RNG.integers(0, C, size=N)
SIGMOID = RNG.random((N, 1))
BINARY = (RNG.random(N) > 0.6).astype(np.int64)


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_macro_scores_equal_scikit_learns(name):
    pred = PROBS.argmax(1)
    expected = getattr(skm, f"{name}_score")(LABELS, pred, average="macro", zero_division=0)
    assert metrics.METRIC_TABLE[name](PROBS, LABELS) == pytest.approx(expected, rel=1e-12)
    per_class = getattr(skm, f"{name}_score")(LABELS, pred, average=None, labels=range(C), zero_division=0)
    got = metrics.METRIC_TABLE[name](PROBS, LABELS, per_class=True)
    assert got[name] == pytest.approx(expected, rel=1e-12)
    assert [got[f"{name}_{c}"] for c in range(C)] == pytest.approx(list(per_class), rel=1e-12)


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_macro_mean_skips_classes_never_seen_nor_predicted(name):
    """scikit-learn's default labels: those in the targets or the predictions."""
    probs = np.eye(C)[[0, 1, 1, 0, 1]] * 0.9 + 0.025
    y = np.array([0, 1, 0, 0, 1])
    expected = getattr(skm, f"{name}_score")(y, probs.argmax(1), average="macro", zero_division=0)
    assert metrics.METRIC_TABLE[name](probs, y) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_binary_scores_are_of_the_positive_class(name):
    pred = (SIGMOID[:, 0] > 0.5).astype(int)
    expected = getattr(skm, f"{name}_score")(BINARY, pred, zero_division=0)  # average="binary"
    assert metrics.METRIC_TABLE[name](SIGMOID, BINARY) == pytest.approx(expected, rel=1e-12)
    assert metrics.METRIC_TABLE[name](SIGMOID, BINARY.astype(np.float32)) == pytest.approx(expected, rel=1e-12)


def test_one_hot_targets_score_like_indices():
    assert metrics.f1(PROBS, np.eye(C)[LABELS]) == metrics.f1(PROBS, LABELS)


def test_auc_binary_and_one_vs_rest_equal_scikit_learns():
    assert metrics.auc(SIGMOID, BINARY) == pytest.approx(skm.roc_auc_score(BINARY, SIGMOID[:, 0]), rel=1e-12)
    expected = skm.roc_auc_score(LABELS, PROBS, multi_class="ovr", average="macro")
    assert metrics.auc(PROBS, LABELS) == pytest.approx(expected, rel=1e-12)


def test_auc_with_tied_scores_equals_scikit_learns():
    scores = np.round(SIGMOID, 1)  # many ties
    assert metrics.auc(scores, BINARY) == pytest.approx(skm.roc_auc_score(BINARY, scores[:, 0]), rel=1e-12)


def test_auc_with_one_class_is_nan():
    assert np.isnan(metrics.auc(SIGMOID, np.ones(N, dtype=np.int64)))


def test_r2_equals_scikit_learns():
    t = RNG.normal(size=(N, 3))
    o = t + RNG.normal(size=(N, 3)) * 0.5
    assert metrics.r2(o, t) == pytest.approx(skm.r2_score(t, o), rel=1e-12)
    assert metrics.r2(o[:, :1], t[:, 0]) == pytest.approx(skm.r2_score(t[:, 0], o[:, 0]), rel=1e-12)
    const = np.ones((N, 1))
    assert metrics.r2(o[:, :1], const) == skm.r2_score(const, o[:, :1]) == 0.0


def test_confusion_matrix_equals_scikit_learns():
    true, pred, n = metrics.predicted_classes(PROBS, LABELS)
    np.testing.assert_array_equal(metrics.confusion_matrix(true, pred, n),
                                  skm.confusion_matrix(LABELS, PROBS.argmax(1), labels=range(C)))


def test_per_class_columns_are_named_after_the_metric():
    out = metrics.compute_metrics([Spec("f1", {"per_class": True}), Spec("auc", {})], PROBS, LABELS)
    assert list(out) == ["f1", "f1_0", "f1_1", "f1_2", "f1_3", "auc"]


@pytest.mark.parametrize("monitor,mode", [("val_f1", "max"), ("val_precision", "max"), ("val_recall", "max"),
                                          ("val_auc", "max"), ("val_r2", "max"), ("val_loss", "min"),
                                          ("val_mae", "min")])
def test_early_stop_direction(monitor, mode):
    assert monitor_mode(monitor) == mode


SPEC = """model m {{ input [2]; dense(3); softmax }}
data {{ source = blobs(n=90, centers=3); split = [0.6, 0.2, 0.2] }}
train {{ loss = cross_entropy; optimizer = sgd(lr=0.1); epochs = 1; metrics = {metrics}; early_stop = {es} }}
"""


def test_early_stop_can_monitor_the_new_metrics():
    program = compile_text(SPEC.format(metrics="[f1(per_class=true), auc, r2]", es="patience(2, monitor=val_f1)"))
    assert program.train.early_stop.monitor == "val_f1"
    assert program.train.metrics[0].args == {"per_class": True}


def test_early_stop_on_an_unrecorded_metric_is_an_error():
    with pytest.raises(SpecErrors, match="not recorded"):
        compile_text(SPEC.format(metrics="[f1]", es="patience(2, monitor=val_auc)"))


def test_per_class_must_be_a_bool():
    with pytest.raises(SpecErrors, match="per_class"):
        compile_text(SPEC.format(metrics="[f1(per_class=3)]", es="patience(2)"))
