"""Hostile files: only regular files are read, declared sizes are checked first (issue 17, items 3 and 4).

Each case used to block forever (a FIFO), never end (/dev/zero), wrap a size to 0,
allocate gigabytes, or end in a traceback. Bombs are generated here, kept small.
"""
import gzip
import io
import os
import socket
import zipfile

import numpy as np
import pytest

from faultlib import TINY

NPZ_SPEC = """\
model m {
    input x [2]
    dense(2)
    softmax
}
data { source = npz("DATA"); split = [1.0, 0.0, 0.0] }
train { loss = cross_entropy; optimizer = sgd(lr=0.1); batch = 4; epochs = 1 }
"""
MNIST_SPEC = """\
model m {
    input x [1, 28, 28]
    flatten
    dense(10)
    softmax
}
data { source = mnist("DIR"); split = [1.0, 0.0, 0.0] }
train { loss = cross_entropy; optimizer = sgd(lr=0.1); batch = 4; epochs = 1 }
"""


def _special(tmp_path, kind):
    """A path of the given kind: fifo, device, directory or socket (and what the message calls it)."""
    if kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
        return path, "a FIFO"
    if kind == "device":
        return "/dev/zero", "a character device"
    if kind == "directory":
        path = tmp_path / "folder.npz"
        path.mkdir()
        return path, "a directory"
    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    _special.keep = s  # keep it bound for the test
    return path, "a socket"


KINDS = ["fifo", "device", "directory", "socket"]


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_data_file(cli, tmp_path, kind):
    path, words = _special(tmp_path, kind)
    spec = tmp_path / "m.nn"
    spec.write_text(NPZ_SPEC.replace("DATA", str(path)))
    for cmd in (("check", spec, "--data"), ("train", spec, "--quiet", "--out", tmp_path / "run")):
        code, _, err = cli(*cmd)
        assert code == 2 and words in err and "not a regular file" in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_spec(cli, tmp_path, kind):
    path, words = _special(tmp_path, kind)
    code, _, err = cli("check", path)
    assert code == 2 and words in err, err


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_checkpoint_weights_and_predict_input(cli, tiny_run, tiny_spec, tmp_path, kind):
    path, words = _special(tmp_path, kind)
    for name in ("checkpoint.npz", "weights.npz"):
        target = tiny_run / name
        target.unlink()
        os.symlink(path, target)
    code, _, err = cli("train", tiny_spec, "--resume", tiny_run, "--quiet")
    assert code == 2 and words in err, err
    code, _, err = cli("eval", tiny_spec, "--weights", tiny_run, "--split", "train")
    assert code == 2 and words in err, err
    code, _, err = cli("export", tiny_spec, "--weights", tiny_run, "-o", tmp_path / "m.onnx")
    assert code == 2 and words in err, err
    code, _, err = cli("export", tiny_spec, "-o", tmp_path / "m.onnx")
    assert code == 0, err
    code, _, err = cli("predict", tmp_path / "m.onnx", path)
    assert code == 2 and (words in err or "unknown input format" in err), err


def test_mnist_file_that_is_a_fifo(cli, tmp_path):
    os.mkfifo(tmp_path / "train-images-idx3-ubyte")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01\0\0\0\0")
    spec = tmp_path / "m.nn"
    spec.write_text(MNIST_SPEC.replace("DIR", str(tmp_path)))
    code, _, err = cli("check", spec, "--data")
    assert code == 2 and "a FIFO" in err and "directory" not in err.split("FIFO")[0][-40:], err


def test_tilde_in_a_data_path_expands_to_home(cli, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    rng = np.random.default_rng(0)
    np.savez(home / "d.npz", x=rng.normal(size=(8, 2)).astype(np.float32), y=np.arange(8) % 2)
    spec = tmp_path / "m.nn"
    spec.write_text(NPZ_SPEC.replace("DATA", "~/d.npz"))
    code, out, err = cli("check", spec, "--data")
    assert code == 0, err


# ---------------------------------------------------------------- declared sizes (item 4)

def _idx(dims, code=0x08, body=b""):
    return bytes([0, 0, code, len(dims)]) + b"".join(int(d).to_bytes(4, "big") for d in dims) + body


def _mnist_dir(tmp_path, images: bytes, gz: bool = False):
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    (tmp_path / name).write_bytes(gzip.compress(images) if gz else images)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx([2], body=b"\0\1"))
    spec = tmp_path / "m.nn"
    spec.write_text(MNIST_SPEC.replace("DIR", str(tmp_path)))
    return spec


def test_idx_dims_whose_product_wraps_to_zero_are_refused(cli, tmp_path):
    """2**31 x 2**31 x 4 bytes wrapped to 0 in int64: the header-only file passed as complete."""
    spec = _mnist_dir(tmp_path, _idx([2**31, 2**31, 4]))
    code, _, err = cli("check", spec, "--data")
    assert code == 2 and "truncated" in err and "Traceback" not in err, err


def test_gzip_bomb_is_read_as_header_plus_declared_size_plus_one_byte(cli, tmp_path):
    """A small .gz whose stream goes on with 64 MB of zeros after the declared 2 images."""
    images = _idx([2, 28, 28], body=bytes(2 * 28 * 28))
    stream = io.BytesIO()
    with gzip.GzipFile(fileobj=stream, mode="wb") as f:
        f.write(images)
        for _ in range(64):
            f.write(bytes(1 << 20))
    assert len(stream.getvalue()) < 200_000
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(stream.getvalue())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx([2], body=b"\0\1"))
    spec = tmp_path / "m.nn"
    spec.write_text(MNIST_SPEC.replace("DIR", str(tmp_path)))
    from specc.data import idx

    read = []
    real_open = gzip.open

    def counting_open(*a, **k):
        f = real_open(*a, **k)
        real_read = f.read

        def read_(n=-1):
            data = real_read(n)
            read.append(len(data))
            return data
        f.read = read_
        return f

    idx.gzip.open = counting_open
    try:
        code, _, err = cli("check", spec, "--data")
    finally:
        idx.gzip.open = real_open
    assert code == 2 and "more data after" in err, err
    assert sum(read) == 16 + 2 * 28 * 28 + 1  # header, declared size, one byte: never the 64 MB


def test_gzip_header_declaring_more_than_memory_is_refused_before_reading(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SPECC_MAX_BYTES", str(1 << 20))
    spec = _mnist_dir(tmp_path, _idx([60000, 28, 28], body=bytes(100)), gz=True)
    code, _, err = cli("check", spec, "--data")
    assert code == 2 and "more than the 1.0 MiB of memory available" in err, err


def _forged_npz(path, shape):
    """An .npz whose x.npy header declares `shape` but holds 16 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    y = io.BytesIO()
    np.save(y, np.zeros(2, np.int64))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x.npy", header.getvalue() + bytes(16))
        z.writestr("y.npy", y.getvalue())


def test_npz_member_declaring_a_trillion_rows_is_refused_before_allocation(cli, tmp_path):
    _forged_npz(tmp_path / "d.npz", (10**12, 2))
    spec = tmp_path / "m.nn"
    spec.write_text(NPZ_SPEC.replace("DATA", str(tmp_path / "d.npz")))
    code, _, err = cli("check", spec, "--data")
    assert code == 2 and "declares shape [1000000000000, 2]" in err and "Traceback" not in err, err


def test_npz_member_declaring_a_trillion_rows_as_weights_and_predict_input(cli, tiny_run, tiny_spec, tmp_path):
    _forged_npz(tiny_run / "weights.npz", (10**12, 2))
    code, _, err = cli("eval", tiny_spec, "--weights", tiny_run, "--split", "train")
    assert code == 2 and "declares shape" in err, err
    assert cli("export", tiny_spec, "-o", tmp_path / "m.onnx")[0] == 0
    code, _, err = cli("predict", tmp_path / "m.onnx", tiny_run / "weights.npz")
    assert code == 2 and "declares shape" in err, err


BIG = TINY.replace("dense(4)", "dense(2000000000)")


def test_a_model_too_large_for_memory_is_a_clear_error_before_allocation(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SPECC_MAX_BYTES", str(8 << 30))
    spec = tmp_path / "big.nn"
    spec.write_text(BIG)
    code, out, err = cli("check", spec)
    assert code == 0 and "parameter memory: 29.8 GiB" in out and "warning: training needs" in out, out
    code, out, err = cli("summary", spec)
    assert code == 0 and "Activation memory at batch 4" in out
    for cmd in (("train", spec, "--quiet", "--out", tmp_path / "run"), ("export", spec, "-o", tmp_path / "b.onnx"),
                ("verify", spec)):
        code, _, err = cli(*cmd)
        assert code == 2 and "more than the 8.0 GiB of memory available" in err, (cmd, err)
    assert not (tmp_path / "run").exists() and not (tmp_path / "b.onnx").exists()


def test_a_second_sigterm_while_loading_stops_the_process():
    """The early handler remembered SIGTERM and let a blocked read go on; a second one now aborts."""
    import signal

    from specc.stopsignals import StopSignals

    with StopSignals() as early:
        os.kill(os.getpid(), signal.SIGTERM)
        assert early.name == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
