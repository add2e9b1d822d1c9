import sys

import numpy as np
import pytest

from specbuild import data_error
from specc.data import load_data
from specc.errors import DataError
from specc.ir import DataSpec, Source

pytest.importorskip("sklearn")


@pytest.mark.parametrize("name, n_in, n_out, classes", [
    ("iris", 4, 3, 3), ("wine", 13, 3, 3), ("breast_cancer", 30, 2, 2), ("digits", 64, 10, 10),
])
def test_classification_sets(program, name, n_in, n_out, classes):
    ds = load_data(program(DataSpec(source=Source("sklearn", {"name": name})), input_shape=(n_in,),
                           output_shape=(n_out,)))
    assert len(ds.classes) == classes and ds.train.y.dtype == np.int64


def test_digits_as_images(program):
    ds = load_data(program(DataSpec(source=Source("sklearn", {"name": "digits"})), input_shape=(1, 8, 8),
                           output_shape=(10,)))
    assert ds.train.x.shape == (1797, 1, 8, 8)


def test_diabetes_is_regression(program):
    ds = load_data(program(DataSpec(source=Source("sklearn", {"name": "diabetes"})), input_shape=(10,),
                           output_shape=(1,), out_op="identity", loss="mse"))
    assert ds.classes is None and ds.train.y.shape == (442, 1) and ds.train.y.dtype == np.float32


def test_unknown_name_is_a_front_end_error():
    text = data_error('source = sklearn("irsi")')
    assert "`name` must be one of digits, iris" in text and "did you mean `iris`" in text


def test_the_language_names_exactly_the_sets_the_loader_knows():
    from specc.data.sklearn_sets import SKLEARN_SETS
    from specc.ops import SOURCES

    assert SOURCES["sklearn"][0][1] == tuple(SKLEARN_SETS)


def test_not_installed_is_a_clear_error(program, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(DataError, match="needs scikit-learn") as e:
        load_data(program(DataSpec(source=Source("sklearn", {"name": "iris"})), input_shape=(4,)))
    assert "pip install scikit-learn" in e.value.render()
