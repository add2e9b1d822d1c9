import numpy as np
import pytest

from specc.data import load_data
from specc.data.parquet import load_parquet
from specc.errors import DataError
from specc.ir import DataSpec, Source

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def write(tmp_path, columns, name="d.parquet"):
    path = tmp_path / name
    pq.write_table(pa.table(columns), str(path))
    return str(path)


def test_numeric_columns_last_is_the_target(tmp_path):
    raw = load_parquet(write(tmp_path, {"a": [1, 2], "b": [0.5, 1.5], "y": [3.0, 4.0]}))
    assert raw.x.dtype == np.float32 and raw.x.tolist() == [[1, 0.5], [2, 1.5]]
    assert raw.y.tolist() == [3.0, 4.0] and raw.features == "2 feature columns"


def test_labels_features_and_named_target(tmp_path, program):
    path = write(tmp_path, {"label": ["dog", "cat", "dog"], "a": [1.0, 2.0, 3.0], "b": [4, 5, 6], "c": [0, 0, 0]})
    raw = load_parquet(path, target="label", features=["b", "a"])
    assert raw.x.tolist() == [[4, 1], [5, 2], [6, 3]] and raw.labels and list(raw.y) == ["dog", "cat", "dog"]
    p = program(DataSpec(train=Source("parquet", {"path": path, "target": "label", "features": ("b", "a")})),
                input_shape=(2,), path=str(tmp_path / "s.nn"))
    ds = load_data(p)
    assert ds.classes == ("cat", "dog") and ds.train.y.tolist() == [1, 0, 1]


def test_dictionary_labels_and_integer_targets_matched_as_text(tmp_path, program):
    path = write(tmp_path, {"a": [1.0, 2.0], "y": pa.array(["x", "z"]).dictionary_encode()})
    assert list(load_parquet(path).y) == ["x", "z"]
    path = write(tmp_path, {"a": [1.0, 2.0], "y": [3, 7]}, "n.parquet")
    spec = DataSpec(train=Source("parquet", {"path": path}), classes=("7", "3"))
    assert load_data(program(spec, input_shape=(1,), path=str(tmp_path / "s.nn"))).train.y.tolist() == [1, 0]


def test_integer_targets_as_text_are_narrow_strings(tmp_path):
    """Integer targets are also kept as text (matched against `classes`): as many characters as the widest
    label needs, not astype(str)'s 21 (17 MB for 200,000 labels, most of the loader's peak memory)."""
    y = np.random.default_rng(0).integers(0, 10, 1000)
    raw = load_parquet(write(tmp_path, {"a": np.zeros(1000), "y": y}))
    assert raw.y_text.dtype == np.dtype("<U1") and raw.y_text.tolist() == y.astype(str).tolist()
    wide = [3, -12, 123456789012, 0]
    raw = load_parquet(write(tmp_path, {"a": [1.0] * 4, "y": wide}, "w.parquet"))
    assert raw.y_text.tolist() == ["3", "-12", "123456789012", "0"]


def test_a_bad_value_in_a_later_row_group_names_its_row(tmp_path):
    """Columns come in chunks (row groups); the row of a NaN, inf or beyond-float32 value counts them all."""
    a = np.arange(10, dtype=np.float64)
    a[7] = 1e300  # finite in the file, inf as float32
    path = tmp_path / "g.parquet"
    pq.write_table(pa.table({"a": a, "y": np.arange(10)}), str(path), row_group_size=3)
    with pytest.raises(DataError, match="column 'a', row 8: inf is not a finite number"):
        load_parquet(str(path))


@pytest.mark.parametrize("columns, kw, pattern", [
    ({"a": ["x", "y"], "y": [1, 2]}, {}, "column 'a' holds string values; feature columns must be numeric"),
    ({"a": [1.0, None, None], "y": [1, 2, 3]}, {}, "column 'a' has 2 missing values \\(the first in row 2\\)"),
    ({"a": [1.0, float("inf")], "y": [1, 2]}, {}, "column 'a', row 2: inf is not a finite number"),
    ({"a": [1.0, 2.0], "y": [1.0, float("nan")]}, {}, "row 2: the target 'y' is nan"),
    ({"a": [1.0], "y": [1]}, {"target": "lable"}, "no target column 'lable'"),
    ({"a": [1.0], "y": [1]}, {"features": ["b"]}, "no feature column 'b'"),
])
def test_errors_name_file_column_and_row(tmp_path, columns, kw, pattern):
    path = write(tmp_path, columns)
    with pytest.raises(DataError, match=pattern) as e:
        load_parquet(path, **kw)
    assert e.value.pos.file == path


def test_not_a_parquet_file(tmp_path):
    p = tmp_path / "d.parquet"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load_parquet(str(p))


def test_without_pyarrow_the_error_names_the_extra(tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__
    monkeypatch.setattr(builtins, "__import__",
                        lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name)) if name.startswith("pyarrow")
                        else real(name, *a, **k))
    with pytest.raises(DataError, match="needs pyarrow") as e:
        load_parquet(str(tmp_path / "d.parquet"))
    assert "specc[data]" in e.value.render()


def test_more_columns_than_a_group_land_in_their_places(tmp_path):
    from specc.data import parquet

    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(2 * parquet.GROUP + 3)]  # two full groups and a part
    values = rng.standard_normal((500, len(names)))
    path = write(tmp_path, {**{n: values[:, i] for i, n in enumerate(names)}, "y": np.arange(500) % 3})
    raw = load_parquet(path, features=names[::-1])
    np.testing.assert_array_equal(raw.x, values[:, ::-1].astype(np.float32))


def test_the_first_bad_column_in_feature_order_is_named(tmp_path):
    from specc.data import parquet

    cols = {f"f{i}": np.ones(50) for i in range(parquet.GROUP + 4)}
    cols[f"f{parquet.GROUP + 2}"][30] = np.inf  # in the second group
    cols[f"f{parquet.GROUP + 1}"][40] = 1e39    # beyond float32, an earlier column of that group
    path = write(tmp_path, {**cols, "y": np.zeros(50)})
    with pytest.raises(DataError, match=f"column 'f{parquet.GROUP + 1}', row 41: inf is not a finite number"):
        load_parquet(path)


def test_after_a_bad_column_no_reading_thread_is_left(tmp_path, monkeypatch):
    import threading

    from specc.data import parquet

    monkeypatch.setattr(parquet, "usable_cpus", lambda: 2)  # a thread reads a column ahead
    cols = {f"f{i}": np.ones(50) for i in range(12)}
    cols["f2"][7] = np.nan
    path = write(tmp_path, {**cols, "y": np.zeros(50)})
    before = threading.active_count()
    with pytest.raises(DataError, match="column 'f2', row 8") as e:  # the traceback (and its frames) stay alive
        load_parquet(path)
    assert e.value is not None and threading.active_count() == before
