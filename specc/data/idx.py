"""IDX files (the MNIST format), plain or gzip-compressed.

Layout: two zero bytes, a type byte, the number of dimensions, then each
dimension as a big-endian uint32, then the data (big-endian). Plain files are
read with one `np.fromfile` (no Python-level copy); the caller converts to
float32 once, per split.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from ..errors import DataError
from ..files import regular_data_file
from ..ir import Pos
from ..limits import check_allocation, declared_bytes
from .types import Raw, shape_str

DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _header(buf: bytes, path: str, ndim_expected: int | None, what: str):
    if len(buf) < 4:
        raise DataError(f"truncated: {len(buf)} bytes, shorter than the 4-byte IDX magic number", Pos(path))
    magic = int.from_bytes(buf[:4], "big")
    code, ndim = buf[2], buf[3]
    if buf[0] != 0 or buf[1] != 0 or code not in DTYPES or ndim == 0:
        expect = f"; {what} files start with 0x{0x800 + ndim_expected:08x}" if ndim_expected else ""
        raise DataError(f"not an IDX file: magic number 0x{magic:08x}{expect}", Pos(path),
                        hint="is it an HTML page or an archive saved under this name?")
    if ndim_expected is not None and ndim != ndim_expected:
        raise DataError(f"magic number 0x{magic:08x} says {ndim} dimensions; {what} files have {ndim_expected} "
                        f"(0x{0x800 + ndim_expected:08x})", Pos(path), hint="are the image and label files swapped?")
    if len(buf) < 4 + 4 * ndim:
        raise DataError(f"truncated: the header needs {4 + 4 * ndim} bytes, the file has {len(buf)}", Pos(path))
    dims = tuple(int.from_bytes(buf[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return DTYPES[code], dims, 4 + 4 * ndim


def _check_size(path, dtype, dims, offset, size):
    need = offset + declared_bytes(dims, dtype.itemsize)  # Python ints: 2**31 * 2**31 * 4 does not wrap to 0
    if size < need:
        raise DataError(f"truncated: a {shape_str(dims)} array needs {need} bytes, the file has {size}", Pos(path))
    if size > need:
        raise DataError(f"{size - need} unexpected bytes after the {shape_str(dims)} array", Pos(path))


def read_idx(path: str, ndim: int | None = None, what: str = "IDX") -> np.ndarray:
    """The array in an IDX file, in its stored dtype (big-endian kept; numpy converts lazily)."""
    if path.endswith(".gz"):
        # Read the header, then exactly the declared size plus one byte: a gzip bomb (a small file
        # that inflates to gigabytes) is refused after that one byte, never decompressed in full.
        try:
            with gzip.open(path, "rb") as f:
                head = f.read(4)
                if len(head) == 4:
                    head += f.read(4 * head[3])
                dtype, dims, offset = _header(head, path, ndim, what)
                need = declared_bytes(dims, dtype.itemsize)
                check_allocation(need, f"the {shape_str(dims)} array its header declares", Pos(path), DataError)
                body = f.read(need + 1)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"cannot decompress ({e}); the download may be truncated", Pos(path)) from None
        if len(body) > need:
            raise DataError(f"more data after the {shape_str(dims)} array its header declares", Pos(path))
        _check_size(path, dtype, dims, offset, offset + len(body))
        return np.frombuffer(body, dtype, math.prod(dims)).reshape(dims)
    with open(path, "rb") as f:
        head = f.read(4 + 4 * 255)
    dtype, dims, offset = _header(head, path, ndim, what)
    _check_size(path, dtype, dims, offset, os.path.getsize(path))
    check_allocation(declared_bytes(dims, dtype.itemsize), f"the {shape_str(dims)} array", Pos(path), DataError)
    return np.fromfile(path, dtype, math.prod(dims), offset=offset).reshape(dims)


def find_file(directory: str, base: str) -> str:
    for name in (base, base + ".gz"):
        p = os.path.join(directory, name)
        if os.path.lexists(p):
            return regular_data_file(p, "MNIST file")  # a FIFO would block, a device never ends
    raise DataError(f"no {base} (or {base}.gz) in {directory}", Pos(directory),
                    hint="mnist(dir) expects the four standard IDX file names, plain or .gz")


def load_mnist(directory: str, part: str = "train") -> Raw:
    """Images [N, 28, 28] uint8 and labels [N] from the standard file names."""
    if not os.path.isdir(directory):
        raise DataError(f"{directory} is not a directory", Pos(directory))
    images_name, labels_name = MNIST_FILES[part]
    images_path = find_file(directory, images_name)
    labels_path = find_file(directory, labels_name)
    x = read_idx(images_path, 3, "image")
    y = read_idx(labels_path, 1, "label")
    if len(x) != len(y):
        raise DataError(f"{len(x)} images in {os.path.basename(images_path)} but {len(y)} labels in "
                        f"{os.path.basename(labels_path)}", Pos(labels_path))
    if len(x) == 0:
        raise DataError("the image file holds no images", Pos(images_path))
    return Raw(x=x, y=y, file=images_path, y_file=labels_path, labels=True,
               features=f"images of shape {shape_str(x.shape[1:])}")
