"""Shared checks: export a program and compare every runtime on the same raw inputs.

Tolerances (float32 everywhere): the runtimes sum dot products in different
orders (MLAS blocked GEMM/conv vs NumPy's BLAS vs torch), and use different
exp/tanh kernels (MLAS's vectorized approximations are within a few ulp).
For outputs of size O(1) and fan-ins <= ~1000 the rounding gap stays well
under 1e-5 (about 100 float32 ulps at 1.0); a real lowering bug (wrong pad
order, wrong maxout grouping, a missing bias) changes outputs by O(0.1).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx.reference import ReferenceEvaluator

from specc.backends.onnx import runtime
from specc.backends.onnx.export import build_model, graph_dims

RTOL = ATOL = 1e-5


def numpy_forward(program, params, x, preprocess=None):
    """The NumPy backend's eval-mode outputs, with the data pipeline's own preprocessing."""
    from specc.backends.numpy.model import Network
    from specc.data.preprocess import Preprocess

    if preprocess:
        x = Preprocess(preprocess.get("scale"), preprocess.get("mean"), preprocess.get("std")).apply(x)
    return Network(program.model, params).outputs(np.asarray(x, np.float32))


def export_checked(program, params, preprocess=None, classes=None) -> onnx.ModelProto:
    """build_model + full_check + ONNX shape inference agrees with specc's output shape."""
    model = build_model(program, params, preprocess=preprocess, classes=classes)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    got = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param for d in dims)
    assert got == tuple(graph_dims(program, program.model.output_shape))  # "T": the time axis of a token model
    return model


def inputs(program, n, seed=1, scale=2.0):
    shape = (n, *program.model.input_shape)
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def assert_equivalent(program, params, preprocess=None, batches=(1, 37), x_scale=2.0, reference=True):
    """onnxruntime == NumPy backend == torch.nn.functional (== ReferenceEvaluator) at each batch size."""
    import onnx_torch_ref as torch_ref

    model = export_checked(program, params, preprocess)
    sess = runtime.session(model)
    ref_eval = ReferenceEvaluator(model) if reference else None
    name = program.model.input_name
    for n in batches:
        x = inputs(program, n, seed=n, scale=x_scale)
        got = sess.run(None, {name: x})[0]
        assert got.shape == (n, *program.model.output_shape)
        want_np = numpy_forward(program, params, x, preprocess)
        np.testing.assert_allclose(got, want_np, rtol=RTOL, atol=ATOL, err_msg="onnxruntime vs NumPy backend")
        want_t = torch_ref.forward(program, params, x, preprocess)
        np.testing.assert_allclose(got, want_t, rtol=RTOL, atol=ATOL, err_msg="onnxruntime vs torch")
        if ref_eval is not None:
            got_ref = ref_eval.run(None, {name: x})[0]
            np.testing.assert_allclose(got_ref, want_np, rtol=RTOL, atol=ATOL,
                                       err_msg="onnx ReferenceEvaluator vs NumPy backend")
    return model
