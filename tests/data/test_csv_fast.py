"""The fast CSV reader (pyarrow) and the exact one (Python's csv) must agree on every file."""
import builtins

import numpy as np
import pytest

from specc.data import csvfile
from specc.data.csvfile import load_csv
from specc.errors import DataError

pytest.importorskip("pyarrow")


def write(tmp_path, text, name="d.csv", mode="w"):
    p = tmp_path / name
    if mode == "wb":
        p.write_bytes(text)
    else:
        p.write_text(text)
    return str(p)


def exact_only(monkeypatch):
    monkeypatch.setattr(csvfile, "_load_fast", lambda *a: None)


def no_exact(monkeypatch):
    def fail(*a):
        raise AssertionError("the exact reader ran")
    monkeypatch.setattr(csvfile, "_load_exact", fail)


GOOD = {
    "numeric target": ("a,b,y\n1,2,0.5\n3,4,1.5\n", {}),
    "labels": ("a,b,label\n1,2,cat\n3,4, dog \n", {}),
    "no final newline": ("a,y\n1,2\n3,4", {}),
    "trailing blank lines": ("a,y\n1,2\n3,4\n\n\n", {}),
    "crlf": ("a,y\r\n1,2\r\n3,4\r\n", {}),
    "quoted cells": ('a,"b",y\n"1",2,"x, y"\n3,"4",z\n', {}),
    "named target in the middle": ("a,y,b\n1,0,2\n3,1,4\n", {"target": "y"}),
    "features chosen": ("a,b,c,y\n1,2,3,0\n4,5,6,1\n", {"features": ["c", "a"]}),
    "no target": ("a,b\n1,2\n3,4\n", {"want_target": False}),
    "spaces around numbers": ("a,y\n 1 ,2\n3, 4\n", {}),
    "semicolons": ("a;b;y\n1;2;3\n", {"delimiter": ";"}),
    "exponents": ("a,y\n1e-3,2E5\n-0.5,+7\n", {}),
}


@pytest.mark.parametrize("piece", [1 << 22, 5], ids=["one piece", "a piece per line"])
@pytest.mark.parametrize("name", GOOD)
def test_fast_reader_reads_good_files_like_the_exact_one(tmp_path, monkeypatch, name, piece):
    text, kw = GOOD[name]
    path = write(tmp_path, text)
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", piece)
    with monkeypatch.context() as m:
        no_exact(m)
        fast = load_csv(path, **kw)
    with monkeypatch.context() as m:
        exact_only(m)
        exact = load_csv(path, **kw)
    assert fast.x.dtype == np.float32
    np.testing.assert_array_equal(fast.x, exact.x.astype(np.float32))
    if exact.y is None:
        assert fast.y is None
    else:
        assert fast.y.dtype.kind == exact.y.dtype.kind
        np.testing.assert_array_equal(fast.y, exact.y)
    assert fast.labels == exact.labels and fast.features == exact.features
    np.testing.assert_array_equal(fast.lines, exact.lines)
    if exact.y_text is not None:
        np.testing.assert_array_equal(fast.y_text, exact.y_text)


@pytest.mark.parametrize("text", [
    "a,y\n1,2\n\n3,4\n",            # a blank line inside: line numbers shift
    "\na,y\n1,2\n",                 # a blank line before the header
    'a,y\n1,"two\nlines"\n3,4\n',   # a record over two lines
    "a,a,y\n1,2,3\n",               # a repeated column name
])
def test_files_the_fast_reader_cannot_place_go_to_the_exact_one(tmp_path, monkeypatch, text):
    path = write(tmp_path, text)
    calls = []
    exact = csvfile._load_exact
    monkeypatch.setattr(csvfile, "_load_exact", lambda *a: calls.append(1) or exact(*a))
    load_csv(path)
    assert calls


def test_line_numbers_of_the_fast_reader_feed_label_errors(tmp_path, monkeypatch):
    rows = "".join(f"{i},{'cat' if i != 700 else 'emu'}\n" for i in range(1000))
    path = write(tmp_path, "a,label\n" + rows)
    no_exact(monkeypatch)
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 1000)  # many pieces
    raw = load_csv(path)
    assert raw.x[:, 0].tolist() == list(range(1000))
    i = int(np.flatnonzero(raw.y == "emu")[0])
    assert raw.where(i)[0].line == 702


def test_without_pyarrow_the_exact_reader_reads(tmp_path, monkeypatch):
    real = builtins.__import__

    def no_pyarrow(name, *a, **k):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    raw = load_csv(write(tmp_path, "a,y\n1,2\n"))
    assert raw.x.dtype == np.float64 and raw.x.tolist() == [[1.0]]


@pytest.mark.parametrize("kw, pattern", [
    ({"features": ["a", "zz"]}, "no feature column 'zz'"),
    ({"features": ["a", "a"]}, "names a column twice"),
    ({"features": ["a", "y"], "target": "y"}, "'y' is both a feature and the target"),
])
def test_feature_selection_errors(tmp_path, kw, pattern):
    with pytest.raises(DataError, match=pattern) as e:
        load_csv(write(tmp_path, "a,b,y\n1,2,3\n"), **kw)
    assert e.value.pos.line == 1


def test_features_naming_the_last_column_move_the_default_target(tmp_path):
    raw = load_csv(write(tmp_path, "a,y,b\n1,0,2\n"), features=["a", "b"])
    assert raw.x.tolist() == [[1, 2]] and raw.y.tolist() == [0]


def test_non_finite_and_bad_cells_keep_their_exact_messages(tmp_path):
    rows = "".join(f"{i},{i % 3}\n" for i in range(5000))
    path = write(tmp_path, "a,y\n" + rows + "5,nan\n" + rows)
    with pytest.raises(DataError, match="line 5002: the target 'y' is 'nan', not a finite number"):
        load_csv(path)


@pytest.mark.parametrize("parsers", [1, 2])
def test_pieces_parsed_on_threads_land_in_their_rows(tmp_path, monkeypatch, parsers):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((3000, 12)).astype(np.float32)
    labels = rng.choice(["cat", "dog", "emu"], 3000)
    text = ",".join(f"f{i}" for i in range(12)) + ",label\n" + "".join(
        ",".join(repr(float(v)) for v in row) + f",{label}\n" for row, label in zip(values, labels))
    path = write(tmp_path, text)
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 4096)  # about 20 pieces, in flight on both threads
    monkeypatch.setattr(csvfile, "PARSERS", parsers)
    no_exact(monkeypatch)
    raw = load_csv(path, features=[f"f{i}" for i in reversed(range(12))])
    np.testing.assert_array_equal(raw.x, values[:, ::-1])
    assert list(raw.y) == list(labels)


def test_a_bad_cell_in_a_late_piece_gets_the_exact_message(tmp_path, monkeypatch):
    rows = [f"{i},{i % 2}\n" for i in range(3000)]
    rows[2500] = "x7,1\n"
    path = write(tmp_path, "a,y\n" + "".join(rows))
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 1000)
    with pytest.raises(DataError, match="line 2502, column 'a': 'x7' is not a number"):
        load_csv(path)



def test_without_jemalloc_the_default_arrow_pool_is_used(tmp_path, monkeypatch):
    import pyarrow as pa

    def missing():
        raise NotImplementedError("jemalloc support is not built")

    monkeypatch.setattr(pa, "jemalloc_memory_pool", missing)
    assert csvfile._memory_pool(pa).backend_name == pa.default_memory_pool().backend_name
    no_exact(monkeypatch)
    assert load_csv(write(tmp_path, "a,y\n1,2\n3,4\n")).x.tolist() == [[1], [3]]
