"""The ONNX exporter on every case: onnxruntime and onnx's ReferenceEvaluator against NumPy.

Each case is exported with build_model (random float32 parameters, checked
with onnx.checker's full check) and run in eval mode at every batch size of the
case (the batch axis is symbolic), on the same raw input as the NumPy backend.

Tolerance (float32 everywhere): the runtimes sum dot products in different
orders (MLAS blocked GEMM/conv vs NumPy's BLAS) and use different exp/tanh
kernels (within a few ulp). For O(1) outputs and fan-ins of a few dozen the gap
stays well under 1e-5 (about 100 float32 ulps at 1.0): measured over every case,
the largest excess over rtol * |NumPy| is 2.8e-8 (onnxruntime) and 2.0e-8
(ReferenceEvaluator), so atol 1e-5 is a wide margin; a real lowering bug
(a wrong pad order or maxout grouping, a missing bias) changes outputs by O(0.1).
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from conformance_cases import CASES, make_input, numpy_context, random_params
from onnx.reference import ReferenceEvaluator

from specc.backends.onnx import runtime
from specc.backends.onnx.export import build_model, graph_dims
from specc.ops import OPS

TOL = dict(rtol=1e-5, atol=1e-5)
EXPORTABLE = [c for c in CASES if all(OPS[layer.op].exportable for layer in c.program.model.layers)]
# ReferenceEvaluator runs in Python; a case may skip it only when it is slow or when the
# evaluator lacks the feature (say why here); onnxruntime still runs the case.
SKIP_REFERENCE: dict[str, str] = {
    "rnn-4": "onnx.reference's RNN implements only the Tanh and Affine activations, not Relu",
    **{c.id: "onnx.reference's RNN/LSTM/GRU ignore sequence_lens (padding)" for c in CASES
       if c.op in ("rnn", "lstm", "gru") and c.example.padded},
}


def numpy_outputs(program, params, x):
    from specc.backends.numpy.model import Network

    env = Network(program.model, params).forward(x, numpy_context(False))
    return [env[o.value] for o in program.model.outputs]


def test_reference_skips_name_real_cases():
    assert set(SKIP_REFERENCE) <= {c.id for c in EXPORTABLE}


def test_every_non_exportable_case_is_a_non_exportable_op():
    skipped = {c.op for c in CASES} - {c.op for c in EXPORTABLE}
    assert all(not OPS[op].exportable for op in skipped), skipped


@pytest.mark.parametrize("case", EXPORTABLE, ids=[c.id for c in EXPORTABLE])
def test_runtimes_match_numpy(case):
    prog = case.program
    params = random_params(prog, dtype=np.float32)
    model = build_model(prog, params)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    for out, value in zip(inferred.graph.output, prog.model.outputs):
        dims = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param for d in out.type.tensor_type.shape.dim)
        # a model of tokens exports its time axis as "T" (graph_dims)
        assert dims == tuple(graph_dims(prog, prog.model.value_shape(value.value))), \
            "ONNX shape inference disagrees with specc"
    session = runtime.session(model)
    reference = None if case.id in SKIP_REFERENCE else ReferenceEvaluator(model)
    name = prog.model.input_name
    for batch in case.example.batches:
        x = make_input(case.example, batch, seed=batch, dtype=np.float32)
        want = numpy_outputs(prog, params, x)
        got = session.run(None, {name: x})
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, err_msg=f"onnxruntime vs NumPy, batch {batch}", **TOL)
        if reference is not None:
            for g, w in zip(reference.run(None, {name: x}), want):
                np.testing.assert_allclose(g, w, err_msg=f"ReferenceEvaluator vs NumPy, batch {batch}", **TOL)
