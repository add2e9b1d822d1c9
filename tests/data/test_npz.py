import numpy as np
import pytest

from specc.data import load_data
from specc.data.npzfile import load_npz
from specc.errors import DataError
from specc.ir import DataSpec, Source


def test_reads_named_arrays(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, inputs=np.ones((3, 2), np.float32), labels=np.array([0, 1, 0]))
    raw = load_npz(str(p), x="inputs", y="labels")
    assert raw.x.shape == (3, 2) and raw.labels


def test_missing_key_lists_what_is_there(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, a=np.ones((3, 2)), y=np.zeros(3))
    with pytest.raises(DataError, match="has no array 'x'; it holds: a, y") as e:
        load_npz(str(p))
    assert e.value.pos.file == str(p)
    np.savez(p, x=np.ones((3, 2)))
    with pytest.raises(DataError, match="has no array 'y'"):
        load_npz(str(p))
    assert load_npz(str(p), want_target=False).y is None  # autoencoders need no y


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    p = tmp_path / "d.npz"
    obj = np.empty(3, dtype=object)
    obj[:] = [1, "a", None]
    np.savez(p, x=np.ones((3, 2)), y=obj)
    with pytest.raises(DataError, match="Python objects"):
        load_npz(str(p))


def test_not_an_archive_and_single_npy(tmp_path):
    p = tmp_path / "d.npz"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_npz(str(p))
    q = tmp_path / "a.npy"
    np.save(q, np.ones(3))
    with pytest.raises(DataError, match="single .npy"):
        load_npz(str(q))


def test_length_mismatch_and_bad_dtypes(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.ones((3, 2)), y=np.zeros(2))
    with pytest.raises(DataError, match="'x' has 3 samples but 'y' has 2"):
        load_npz(str(p))
    np.savez(p, x=np.array([["a", "b"]]), y=np.zeros(1))
    with pytest.raises(DataError, match="inputs must be numeric"):
        load_npz(str(p))


def test_probability_vector_targets(tmp_path, program):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.ones((2, 2)), y=np.array([[0.25, 0.75], [1.0, 0.0]]))
    ds = load_data(program(DataSpec(train=Source("npz", {"path": str(p)}))))
    assert ds.train.y.dtype == np.float32 and ds.train.y.shape == (2, 2)
    np.savez(p, x=np.ones((2, 2)), y=np.array([[0.5, 0.75], [1.0, 0.0]]))
    with pytest.raises(DataError, match="sum to 1.25, not 1"):
        load_data(program(DataSpec(train=Source("npz", {"path": str(p)}))))


def test_string_labels_in_npz(tmp_path, program):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.ones((3, 2)), y=np.array(["b", "a", "b"]))
    ds = load_data(program(DataSpec(train=Source("npz", {"path": str(p)}))))
    assert ds.classes == ("a", "b")
    np.testing.assert_array_equal(ds.train.y, [1, 0, 1])
