import numpy as np
import pytest

from specbuild import data_error
from specc.data import check_data, load_data
from specc.data.idx import load_mnist, read_idx
from specc.errors import DataError
from specc.ir import DataSpec, Source


def mnist_dir(tmp_path, idx, n=20, gz=False, labels_n=None):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, labels_n or n).astype(np.uint8)
    sfx = ".gz" if gz else ""
    idx(tmp_path / f"train-images-idx3-ubyte{sfx}", x, gz=gz)
    idx(tmp_path / f"train-labels-idx1-ubyte{sfx}", y, gz=gz)
    return x, y


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_plain_and_gz(tmp_path, idx, gz):
    x, y = mnist_dir(tmp_path, idx, gz=gz)
    raw = load_mnist(str(tmp_path), "train")
    np.testing.assert_array_equal(raw.x, x)
    np.testing.assert_array_equal(raw.y, y)


@pytest.mark.parametrize("code, dtype", [(0x09, "i1"), (0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")])
def test_other_idx_dtypes_are_big_endian(tmp_path, idx, code, dtype):
    a = np.arange(-3, 3).reshape(2, 3).astype(np.dtype(dtype).newbyteorder("="))
    idx(tmp_path / "a.idx", a, magic_dtype=code)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "a.idx")), a)


@pytest.mark.parametrize("shape", [(1, 28, 28), (784,), (28, 28)])
def test_images_reshape_to_the_model_input(tmp_path, idx, program, shape):
    x, y = mnist_dir(tmp_path, idx)
    p = program(DataSpec(train=Source("mnist", {"dir": str(tmp_path)})), input_shape=shape, output_shape=(10,))
    ds = load_data(p)
    assert ds.train.x.shape == (20, *shape) and ds.train.x.dtype == np.float32
    np.testing.assert_array_equal(ds.train.x.reshape(20, -1), x.reshape(20, -1).astype(np.float32))
    np.testing.assert_array_equal(ds.train.y, y.astype(np.int64))


def test_size_mismatch_with_model(tmp_path, idx, program):
    mnist_dir(tmp_path, idx)
    p = program(DataSpec(train=Source("mnist", {"dir": str(tmp_path)})), input_shape=(100,), output_shape=(10,))
    [err] = check_data(p)
    assert "images of shape [28, 28] (784 values); the model input is [100]" in err.message


def test_label_out_of_range(tmp_path, idx, program):
    mnist_dir(tmp_path, idx)
    p = program(DataSpec(train=Source("mnist", {"dir": str(tmp_path)})), input_shape=(784,), output_shape=(5,))
    [err] = check_data(p)
    assert "but the model has 5 outputs" in err.message and "train-labels-idx1-ubyte" in err.message


def test_wrong_magic(tmp_path, idx):
    mnist_dir(tmp_path, idx)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="not an IDX file: magic number 0x3c68746d") as e:
        load_mnist(str(tmp_path), "train")
    assert e.value.pos.file.endswith("train-images-idx3-ubyte")


def test_swapped_files(tmp_path, idx):
    x, y = mnist_dir(tmp_path, idx)
    idx(tmp_path / "train-images-idx3-ubyte", y)
    with pytest.raises(DataError, match="says 1 dimensions; image files have 3"):
        load_mnist(str(tmp_path), "train")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated(tmp_path, idx, gz):
    mnist_dir(tmp_path, idx, gz=gz)
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    data = (tmp_path / name).read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) - 100])
    with pytest.raises(DataError, match="truncated"):
        load_mnist(str(tmp_path), "train")


def test_truncated_header_and_extra_bytes(tmp_path, idx):
    mnist_dir(tmp_path, idx)
    p = tmp_path / "train-images-idx3-ubyte"
    data = p.read_bytes()
    p.write_bytes(data[:6])
    with pytest.raises(DataError, match="truncated: the header"):
        load_mnist(str(tmp_path), "train")
    p.write_bytes(data + b"\0\0")
    with pytest.raises(DataError, match="2 unexpected bytes"):
        load_mnist(str(tmp_path), "train")


def test_count_mismatch(tmp_path, idx):
    mnist_dir(tmp_path, idx, labels_n=19)
    with pytest.raises(DataError, match="20 images in train-images-idx3-ubyte but 19 labels"):
        load_mnist(str(tmp_path), "train")


def test_missing_file_and_directory(tmp_path, idx, program):
    with pytest.raises(DataError, match="no train-images-idx3-ubyte"):
        load_mnist(str(tmp_path), "train")
    p = program(DataSpec(train=Source("mnist", {"dir": "no/such/dir"})), path=str(tmp_path / "m.nn"))
    [err] = check_data(p)
    assert f"data directory not found: {tmp_path / 'no' / 'such' / 'dir'}" in err.message


def test_bad_part_is_a_front_end_error():
    text = data_error('train = mnist("digits", part="tset")')
    assert "`part` must be one of train, test" in text and "did you mean `test`" in text


def test_not_gzip(tmp_path, idx):
    mnist_dir(tmp_path, idx, gz=True)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"plain bytes")
    with pytest.raises(DataError, match="cannot decompress"):
        load_mnist(str(tmp_path), "train")
