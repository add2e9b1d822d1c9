"""Model metadata written into the ONNX file and read back by `specc predict`.

Stored as `metadata_props` (string key/value pairs, which onnxruntime exposes
as `custom_metadata_map`), so a deployed model explains itself: which spec it
came from, what its input is, what its output means, and the class names.
"""
from __future__ import annotations

import json

from specc import __version__
from specc.ir import Program

# How to read the output, from the model's last op.
OUTPUT_KINDS = {
    "softmax": "probabilities",
    "log_softmax": "log_probabilities",
    "sigmoid": "sigmoid",
}


def output_kind(program: Program) -> str:
    """probabilities | log_probabilities | sigmoid | values."""
    return OUTPUT_KINDS.get(program.model.output_op, "values")


def describe_input(program: Program, preprocess: dict, k: int = 0) -> str:
    """What model input k takes: its name, type and shape, and the preprocessing inside the graph."""
    inp = program.model.inputs[k]
    if inp.dtype == "int":
        return f"{inp.name}: token ids, int64 [N, {', '.join(map(str, inp.shape))}]"
    steps = []
    if preprocess.get("scale") is not None:
        steps.append("scaled")
    if preprocess.get("mean") is not None or preprocess.get("std") is not None:
        steps.append("standardized")
    inside = f"; {' and '.join(steps)} inside the graph with the training statistics" if steps else ""
    return f"{inp.name}: raw float32 [N, {', '.join(map(str, inp.shape))}]{inside}"


def describe_output(program: Program, classes) -> str:
    shape = ", ".join(map(str, program.model.output_shape))
    kind = output_kind(program)
    what = {
        "probabilities": "class probabilities (softmax over axis 1)",
        "log_probabilities": "class log-probabilities (log_softmax over axis 1)",
        "sigmoid": "sigmoid outputs (probability of the positive class per unit)",
        "values": "model outputs",
    }[kind]
    names = f"; classes {', '.join(classes)}" if classes else ""
    return f"output: {what}, float32 [N, {shape}]{names}"


def make_metadata(program: Program, classes, preprocess: dict, vocab=None) -> dict[str, str]:
    """The metadata_props of an exported model; `vocab` (a specc.vocab.Vocab) for a model of text."""
    meta = {
        "model_name": program.model.name,
        "specc_version": __version__,
        "source": program.path,
        "input_name": program.model.input_name,
        "input_shape": json.dumps(list(program.model.input_shape)),
        "input_description": describe_input(program, preprocess),
        "output_kind": output_kind(program),
        "output_description": describe_output(program, classes),
    }
    if classes:
        meta["classes"] = json.dumps(list(classes))
    if vocab is not None:
        meta["vocab"] = vocab.to_json()
    return meta


def read_classes(meta: dict[str, str]) -> list[str] | None:
    """Class names from metadata, or None when absent or unreadable."""
    try:
        classes = json.loads(meta["classes"])
    except (KeyError, ValueError):
        return None
    return [str(c) for c in classes] if isinstance(classes, list) else None


def read_vocab(meta: dict[str, str]):
    """The specc.vocab.Vocab of the metadata, or None when absent or unreadable."""
    from specc.vocab import Vocab

    try:
        return Vocab.from_json(meta["vocab"])
    except (KeyError, ValueError):
        return None
