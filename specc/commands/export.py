"""`specc export SPEC [--weights RUN_DIR] -o model.onnx`: the model as a standalone ONNX file.

Weights come from a run directory (weights.npz, preprocess.npz, classes.json)
or, without --weights, from the spec's seeded initialization. The exported file
is validated (onnx.checker full_check) and its inferred output shape compared
with the one specc inferred before it is reported as written. A progress bar
names the stage running (weights, graph, check, write; not with --quiet, nor
when stderr is not a terminal): the check and the write take most of the time
of a large model.
"""
from __future__ import annotations

import os
import sys

from ._common import add_set_option


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a model to ONNX (opset 17)",
                              description="Export the model of a .nn spec to ONNX, preprocessing included.")
    p.add_argument("spec", help="the .nn file")
    p.add_argument("--weights", metavar="DIR",
                   help="run directory of `specc train` (or a weights .npz); default: the seeded initial weights")
    p.add_argument("-o", "--output", metavar="FILE", help="output file (default: <model name>.onnx)")
    add_set_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _compile(path: str, overrides):
    from specc.frontend import compile_file

    return compile_file(path, overrides=tuple(overrides))


def _inputs(program, weights: str | None):
    """(params, preprocess dict, classes) from a run dir, or from the spec alone."""
    import numpy as np

    from specc.backends.onnx import rundir

    data = program.data
    spec_classes = list(data.classes) if data is not None and data.classes else None
    if weights is None:
        from specc.init import initial_params

        return initial_params(program), _spec_scales(program), spec_classes
    params = {k: v.astype(np.float32) for k, v in rundir.load_weights(weights, program).items()}
    if os.path.isdir(weights):
        preprocess = rundir.load_preprocess(weights, program)
        from specc.rundir import read_classes

        saved = read_classes(weights)
        classes = list(saved) if saved else spec_classes
    else:
        preprocess, classes = _spec_scales(program), spec_classes
    return params, preprocess, classes


def _spec_scales(program) -> list[dict]:
    """Without a run's statistics: each input's `scale` from the spec (standardization needs training)."""
    data = program.data
    if data is not None and any(p.standardize for p in data.prep):
        print("warning: the spec standardizes its inputs, but without --weights there are no training "
              "statistics; the exported model expects standardized inputs", file=sys.stderr)
    return [{"scale": data.prep_of(i.name).scale if data is not None else None, "mean": None, "std": None}
            for i in program.model.inputs]


def _verify(model, program) -> None:
    """full_check and the ONNX-inferred output shape against specc's; a mismatch is a bug."""
    import onnx

    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    got = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims)
    from specc.backends.onnx.export import graph_dims

    want = tuple(graph_dims(program, program.model.output_shape))
    if got != want:
        raise AssertionError(f"exporter bug: ONNX infers output shape {got}, specc inferred {want}")


STAGES = ("weights", "graph", "check", "write")  # what the progress bar names while it runs


def _next(bar, stage: int) -> None:
    bar.advance()
    bar.stage(STAGES[stage])


def run(args) -> int:
    from specc.backends.onnx.export import build_model, save

    program = _compile(args.spec, args.set)
    from specc.limits import check_model_memory

    check_model_memory(program, None, training=False)  # before any parameter is allocated
    from specc.files import output_file

    output_file(args.output or f"{program.model.name}.onnx", "model file", make_dirs=True)  # before the work
    from specc.progress import Progress
    from specc.rundir import read_vocab

    bar = Progress(len(STAGES), desc="export", unit="stage", quiet=args.quiet, every=0.0)
    try:
        bar.stage(STAGES[0])
        params, preprocess, classes = _inputs(program, args.weights)
        vocab = read_vocab(args.weights) if args.weights and os.path.isdir(args.weights) else None
        _next(bar, 1)
        model = build_model(program, params, preprocess=preprocess, classes=classes, vocab=vocab)
        _next(bar, 2)
        _verify(model, program)
        _next(bar, 3)
        out = args.output or f"{program.model.name}.onnx"
        save(model, out)
        bar.advance()
    finally:
        bar.close()
    n_params = sum(int(v.size) for v in params.values())
    source = args.weights or "seeded initial weights"
    n_nodes = len(model.graph.node)
    print(f"wrote {out}: {program.model.name}, opset {model.opset_import[0].version}, "
          f"{n_nodes} node{'s' if n_nodes != 1 else ''}, {n_params:,} parameters from {source}")
    return 0
