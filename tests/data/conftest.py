"""Programs for the data tests, built directly as IR (the data loaders read only shapes and the train block)."""
import gzip
import struct

import numpy as np
import pytest

from specc.ir import Input, Layer, Model, Output, OutputLoss, Program, Spec, TrainSpec


def build_program(data, input_shape=(2,), output_shape=(2,), out_op="softmax", loss="cross_entropy",
                  seed=0, path="<string>", train=True):
    n_in = int(np.prod(input_shape))
    n_out = int(np.prod(output_shape))
    layers = (
        Layer("flatten_1", "flatten", {}, ("x",), (tuple(input_shape),), (n_in,)),
        Layer("dense_1", "dense", {"units": n_out}, ("flatten_1",), ((n_in,),), (n_out,)),
        Layer(f"{out_op}_1", out_op, {}, ("dense_1",), ((n_out,),), tuple(output_shape)),
    )
    model = Model("m", (Input("x", tuple(input_shape)),), layers, (Output("output", f"{out_op}_1"),))
    ts = TrainSpec(losses=(OutputLoss("output", Spec(loss)),), optimizer=Spec("sgd", {"lr": 0.1}),
                   seed=seed) if train else None
    return Program(model, data, ts, path=path, source_text="")


def write_idx(path, arr, magic_dtype=0x08, gz=False):
    arr = np.asarray(arr)
    head = bytes([0, 0, magic_dtype, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    data = head + arr.astype(arr.dtype.newbyteorder(">") if arr.dtype.itemsize > 1 else arr.dtype).tobytes()
    opener = gzip.open if gz else open
    with opener(str(path), "wb") as f:
        f.write(data)
    return path


@pytest.fixture
def program():
    return build_program


@pytest.fixture
def idx():
    return write_idx
