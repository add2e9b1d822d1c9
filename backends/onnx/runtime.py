"""Loading an ONNX file safely and running it with onnxruntime.

A file is checked with onnx.checker (full_check) before onnxruntime sees it,
so a corrupt or hand-edited model is a clear SpecError, not a runtime crash.
"""
from __future__ import annotations

import os

import numpy as np
import onnx

from specc.errors import SpecError
from specc.ir import Pos


def load_checked(path: str) -> onnx.ModelProto:
    """The model at `path`, refused (SpecError) unless it is a valid ONNX model."""
    from specc.files import regular_file

    if not os.path.exists(path):
        raise SpecError(f"no such model file: {path}", Pos(path))
    regular_file(path, "model file")
    try:
        model = onnx.load(path)
    except Exception as e:  # protobuf DecodeError and friends
        raise SpecError(f"{path} is not an ONNX model: {type(e).__name__}: {e}", Pos(path)) from None
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # ValidationError, InferenceError, and whatever a malformed graph trips
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SpecError(f"{path} is not a valid ONNX model: {first}", Pos(path),
                        "re-export it with `specc export`") from None
    return model


def metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def session(model: onnx.ModelProto, threads: int = 0):
    """An onnxruntime CPU session for an in-memory model (threads=0: onnxruntime's default)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only
    opts.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # a valid graph onnxruntime cannot run (unsupported op or type)
        raise SpecError(f"onnxruntime cannot load the model: {e}", Pos("<model>")) from None


def inputs_info(model: onnx.ModelProto) -> list[tuple[str, tuple]]:
    """(name, shape without batch) of every graph input that is not an initializer, in order."""
    inits = {i.name for i in model.graph.initializer}
    out = []
    for vi in model.graph.input:
        if vi.name not in inits:
            dims = vi.type.tensor_type.shape.dim
            out.append((vi.name, tuple(d.dim_value if d.HasField("dim_value") else None for d in dims[1:])))
    if not out:
        raise SpecError("the model has no input", Pos("<model>"))
    return out


def run_all(sess, feeds: dict, batch_size: int = 1024) -> list[np.ndarray]:
    """Every graph output for the named float32 inputs (one array each, [N, ...]), in chunks.
    Inputs the graph declares int64 (token ids) are converted, once checked to be whole numbers."""
    n = len(next(iter(feeds.values())))
    feeds = dict(feeds)
    for inp in sess.get_inputs():
        x = feeds.get(inp.name)
        if inp.type == "tensor(int64)" and x is not None and x.dtype != np.int64:
            if x.dtype.kind == "f" and (x != np.round(x)).any():
                raise SpecError(f"input `{inp.name}` holds token ids, which must be whole numbers", Pos("<model>"))
            feeds[inp.name] = x.astype(np.int64)
    try:
        parts = [sess.run(None, {k: v[i:i + batch_size] for k, v in feeds.items()}) for i in range(0, n, batch_size)]
    except Exception as e:  # e.g. a model from elsewhere that wants another dtype or shape
        raise SpecError(f"onnxruntime failed on the inputs: {e}", Pos("<model>")) from None
    outs = []
    for k in range(len(parts[0])):
        chunks = [p[k] for p in parts]
        for i, out in zip(range(0, n, batch_size), chunks):
            if out.ndim == 0 or out.shape[0] != len(range(i, min(i + batch_size, n))):
                raise SpecError(f"the model gives an output of shape {list(out.shape)} for "
                                f"{min(batch_size, n - i)} input rows, not one row per input", Pos("<model>"))
        outs.append(np.concatenate(chunks))
    return outs


def layer_outputs(program, params: dict, x) -> dict:
    """{layer name: output} from onnxruntime for the inputs x (one array per model input).

    The exported graph with the last node of every layer made a graph output (node names are
    "<layer>/<OpType>[_k]" in lowering order). Layers that lower to no node (dropout) are absent.
    """
    from onnx import TensorProto, helper

    from .export import build_model

    model = build_model(program, params)
    last_output = {}
    for node in model.graph.node:
        last_output[node.name.split("/", 1)[0]] = node.output[0]
    names = {layer.name: last_output[layer.name] for layer in program.model.layers if layer.name in last_output}
    existing = {o.name for o in model.graph.output}
    for value in dict.fromkeys(names.values()):
        if value not in existing:
            model.graph.output.append(helper.make_tensor_value_info(value, TensorProto.FLOAT, None))
    sess = session(model)
    wanted = [o.name for o in sess.get_outputs()]
    feeds = dict(zip((i.name for i in sess.get_inputs()), x if isinstance(x, (list, tuple)) else [x]))
    results = dict(zip(wanted, sess.run(wanted, feeds)))
    return {layer: results[value] for layer, value in names.items()}
