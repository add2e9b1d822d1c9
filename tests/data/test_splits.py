import numpy as np
import pytest

from specc.data import load_data
from specc.data.splits import partition, share
from specc.errors import SpecError
from specc.ir import DataSpec, Source
from specc.rng import stream


def test_share_is_exact_and_proportional():
    np.testing.assert_array_equal(share(10, np.array([90, 10])), [9, 1])
    assert share(7, np.array([3, 3, 3])).sum() == 7
    assert (share(5, np.array([1, 100])) <= [1, 100]).all()


def test_partition_covers_everything_once():
    rng = stream(0, "split")
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    tr, va, te = partition(100, 10, 20, rng, labels)
    allidx = np.concatenate([tr, va, te])
    assert len(va) == 10 and len(te) == 20 and len(tr) == 70
    np.testing.assert_array_equal(np.sort(allidx), np.arange(100))
    # stratified: each class keeps its share (50/30/20 %) in every split
    np.testing.assert_array_equal(np.bincount(labels[va], minlength=3), [5, 3, 2])
    np.testing.assert_array_equal(np.bincount(labels[te], minlength=3), [10, 6, 4])


def test_imbalanced_stratification_keeps_rare_class():
    labels = np.array([0] * 95 + [1] * 5)
    _, va, _ = partition(100, 20, 0, stream(1, "split"), labels)
    assert np.bincount(labels[va]).tolist() == [19, 1]


def test_partition_seeded():
    a = partition(50, 5, 5, stream(1, "split"))
    b = partition(50, 5, 5, stream(1, "split"))
    c = partition(50, 5, 5, stream(2, "split"))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[1], c[1])


def test_split_key_and_val_fraction(program):
    ds = load_data(program(DataSpec(source=Source("blobs", {"n": 100}), split=(0.6, 0.2, 0.2)), output_shape=(3,)))
    assert (len(ds.train), len(ds.val), len(ds.test)) == (60, 20, 20)
    ds = load_data(program(DataSpec(train=Source("moons", {"n": 50}), val=0.2)))
    assert (len(ds.train), len(ds.val), ds.test) == (40, 10, None)
    ds = load_data(program(DataSpec(train=Source("moons", {"n": 50}), val=0.0)))
    assert len(ds.train) == 50 and ds.val is None
    ds = load_data(program(DataSpec(source=Source("moons", {"n": 50}), split=(0.8, 0.2))))  # [train, test]
    assert (len(ds.train), ds.val, len(ds.test)) == (40, None, 10)


def test_split_keeps_x_and_y_together(program):
    """A split must not shuffle x apart from y: xor's label is a function of the point."""
    ds = load_data(program(DataSpec(source=Source("xor", {"n": 200}), split=(0.5, 0.25, 0.25))))
    for s in (ds.train, ds.val, ds.test):
        expect = (s.x[:, 0].round() != s.x[:, 1].round()).astype(np.int64)
        np.testing.assert_array_equal(s.y, expect)


@pytest.mark.parametrize("split, pattern", [
    ((0.5, 0.2, 0.2), "sum to 0.9"),
    ((0.5, 0.6, -0.1), "0 or more"),
    ((1.0,), "1 entries"),
])
def test_bad_split(program, split, pattern):
    with pytest.raises(SpecError, match=pattern):
        load_data(program(DataSpec(source=Source("moons", {"n": 20}), split=split)))


def test_fraction_rounding_to_zero_gives_no_split(program):
    ds = load_data(program(DataSpec(source=Source("xor", {}), split=(0.8, 0.1, 0.1)), loss="bce",
                           output_shape=(1,), out_op="sigmoid"))
    assert len(ds.train) == 4 and ds.val is None and ds.test is None


def test_no_training_samples_left(program):
    with pytest.raises(SpecError, match="no training samples left"):
        load_data(program(DataSpec(train=Source("xor", {"n": 2}), val=0.9), loss="bce", output_shape=(1,),
                          out_op="sigmoid"))
