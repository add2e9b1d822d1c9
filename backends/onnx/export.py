"""Build an ONNX model from the IR and canonical weights (with onnx.helper).

The graph is: raw input -> preprocessing (x * scale - mean) / std with the
training statistics -> one lowering per layer (lower.OP_TABLE) -> output.
Batch dimension is symbolic ("N"), and so is the time axis of a model of tokens
("T", any length up to the input's T: a prompt need not be padded); opset is
support.OPSET; metadata says what the input and output are and names the classes.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

from specc import __version__, masks
from specc.checkpoint import check_weights
from specc.errors import DataError, SpecErrors
from specc.ir import Pos, Program
from specc.ops import OPS

from .graph import GraphBuilder
from .lower import OP_TABLE
from .metadata import describe_input, describe_output, make_metadata
from .support import OPSET, unexportable

# ir_version 8 is what opset 17 was released with: loadable by any runtime that runs opset 17.
IR_VERSION = 8
PREPROCESS_DOC = "preprocess: x' = (x * scale - mean) / std with the training statistics (preprocess.npz)"


def _preprocess_list(program: Program, preprocess) -> list[dict]:
    """One {"scale", "mean", "std"} per model input: `preprocess` is a list with one entry per input, or
    one entry for the first input (a Preprocess, a dict, or None)."""
    entries = list(preprocess) if isinstance(preprocess, (list, tuple)) else [preprocess]
    entries += [None] * (len(program.model.inputs) - len(entries))
    return [_preprocess_arrays(program, entry, inp.shape) for entry, inp in zip(entries, program.model.inputs)]


def _preprocess_arrays(program: Program, preprocess, shape) -> dict:
    """Normalize a Preprocess object or dict to {"scale", "mean", "std"}, checking shapes."""
    if preprocess is None:
        return {"scale": None, "mean": None, "std": None}
    get = (lambda k: preprocess.get(k)) if isinstance(preprocess, dict) else (lambda k: getattr(preprocess, k, None))
    shape = tuple(shape)
    out = {"scale": None if get("scale") is None else float(get("scale"))}
    for key in ("mean", "std"):
        v = get(key)
        if v is None:
            out[key] = None
            continue
        v = np.asarray(v, dtype=np.float32)
        if v.size == int(np.prod(shape)) and v.shape != shape:
            v = v.reshape(shape)
        try:
            ok = np.broadcast_shapes(v.shape, shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise DataError(f"preprocessing {key} has shape {list(v.shape)}, which does not fit the "
                            f"model input {list(shape)}", Pos(program.path))
        out[key] = v
    return out


def _lower_preprocess(g: GraphBuilder, x: str, prep: dict, hint: str = "preprocess") -> str:
    g.enter(None, doc=PREPROCESS_DOC)
    if prep["scale"] is not None and prep["scale"] != 1.0:
        x = g.node("Mul", [x, g.const(prep["scale"], hint=f"{hint}_scale")])
    if prep["mean"] is not None:
        x = g.node("Sub", [x, g.const(prep["mean"], hint=f"{hint}_mean")])
    if prep["std"] is not None:
        x = g.node("Div", [x, g.const(prep["std"], hint=f"{hint}_std")])
    return x


def _mask(g: GraphBuilder, model, sources: tuple, made: dict) -> str | None:
    """The bool [N, T] padding mask (True = real token) for `sources`, from the token inputs; None if unmasked."""
    if not sources:
        return None
    if sources not in made:
        pads, mask = masks.pad_tokens(model), None
        for emb in sources:
            tokens, pad = pads[emb]
            m = g.node("Not", [g.node("Equal", [tokens, g.const(pad, np.int64, "pad_token")])])
            mask = m if mask is None else g.node("And", [mask, m])
        made[sources] = mask
    return made[sources]


def graph_dims(program: Program, shape, first_input: bool = False) -> list:
    """The ONNX dims of the first graph input or an output of one example's `shape`: "N" first, and "T"
    for the time axis of a model whose first input is tokens [T] (outputs [T, ...] keep that axis)."""
    first = program.model.inputs[0]
    shape = list(shape)
    if first.dtype == "int" and len(first.shape) == 1 and (first_input or len(shape) >= 2 and shape[0] == first.shape[0]):
        shape[0] = "T"
    return ["N", *shape]


def build_model(program: Program, params: dict[str, np.ndarray], *, preprocess=None,
                classes=None, vocab=None) -> onnx.ModelProto:
    """The ONNX model of `program` with `params` (canonical keys, float32).

    `preprocess`: one per model input (a list), or for the first input alone: a specc.data Preprocess,
    a dict with scale/mean/std, or None.
    `classes`: class names for the metadata, or None. `vocab`: a specc.vocab.Vocab for the metadata, or None.
    Raises SpecErrors for unexportable layers or missing/misshapen weights.
    """
    errors = unexportable(program)
    if errors:
        raise SpecErrors(errors)
    check_weights(params, {key: p for key, _layer, p in program.all_params()}, "weights")  # the one check
    preps = _preprocess_list(program, preprocess)
    m = program.model

    g = GraphBuilder(params)
    env = {}
    for k, inp in enumerate(m.inputs):
        g.fresh(inp.name)
        hint = "preprocess" if k == 0 else f"preprocess_{inp.name}"
        env[inp.name] = _lower_preprocess(g, inp.name, preps[k], hint) if inp.dtype != "int" else inp.name
    sources, made = masks.layer_sources(m), {}
    for layer in m.layers:
        g.enter(layer)
        lower = OP_TABLE[layer.op]
        args = [env[v] for v in layer.inputs]
        x = args if OPS[layer.op].kind == "merge" else args[0]
        if OPS[layer.op].uses_mask:
            env[layer.name] = lower(g, layer, x, mask=_mask(g, m, sources[layer.name], made))
        else:
            env[layer.name] = lower(g, layer, x)

    # Graph outputs are named by the model's outputs; an output that is a graph input (or that
    # another output already names) is routed through an Identity, the one place one is needed.
    graph_inputs = {i.name for i in m.inputs}
    outputs, renamed = [], set()
    for out in m.outputs:
        tensor = env[out.value]
        if tensor in graph_inputs or tensor in renamed:
            g.enter(None, doc=f"model output {out.name}")
            tensor = g.node("Identity", [tensor])
        g.rename_output(tensor, out.name)
        env = {k: (out.name if v == tensor else v) for k, v in env.items()}
        renamed.add(out.name)
        outputs.append(helper.make_tensor_value_info(out.name, TensorProto.FLOAT,
                                                     graph_dims(program, m.value_shape(out.value)),
                                                     describe_output(program, classes) if len(m.outputs) == 1
                                                     else f"output {out.name}"))

    classes = list(classes) if classes else None
    inputs = [helper.make_tensor_value_info(i.name, TensorProto.INT64 if i.dtype == "int" else TensorProto.FLOAT,
                                            graph_dims(program, i.shape, first_input=True) if k == 0 else ["N", *i.shape],
                                            describe_input(program, preps[k], k))
              for k, i in enumerate(m.inputs)]
    graph = helper.make_graph(g.nodes, m.name, inputs, outputs, initializer=list(g.initializers.values()),
                              doc_string=f"exported by specc {__version__} from {program.path}")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="specc", producer_version=__version__,
                              doc_string=f"{m.name}: {describe_output(program, classes)}")
    model.ir_version = IR_VERSION
    helper.set_model_props(model, make_metadata(program, classes, preps[0], vocab))
    return model


def save(model: onnx.ModelProto, path: str) -> None:
    """Write atomically (temp file + os.replace) so a crash never leaves half a model."""
    from specc.files import output_file, umask_mode

    path = output_file(path, "model file", make_dirs=True)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".onnx.tmp")
    try:
        os.chmod(tmp, umask_mode())  # mkstemp makes 0600; an exported model gets the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
