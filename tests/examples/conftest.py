"""Helpers for the example tests: paths, a tiny MNIST stand-in, an in-process CLI."""
from __future__ import annotations

import gzip
import os
import struct
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def write_idx(path: str, array: np.ndarray, gz: bool = False) -> None:
    """An IDX file of unsigned bytes: magic 0x00000800 + ndim, big-endian dims, data."""
    head = struct.pack(">I", 0x800 + array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = head + array.astype(np.uint8).tobytes()
    with (gzip.open(path + ".gz", "wb") if gz else open(path, "wb")) as f:
        f.write(data)


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> str:
    """A tiny stand-in for MNIST (40 train / 20 test random 28x28 images), under the standard names."""
    d = tmp_path_factory.mktemp("mnist")
    rng = np.random.default_rng(0)
    for part, n in (("train", 40), ("t10k", 20)):
        write_idx(str(d / f"{part}-images-idx3-ubyte"), rng.integers(0, 256, (n, 28, 28)))
        write_idx(str(d / f"{part}-labels-idx1-ubyte"), rng.integers(0, 10, (n,)), gz=part == "t10k")
    return str(d)


