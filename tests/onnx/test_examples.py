"""Every example spec exports, passes full_check, and matches the NumPy backend.

Uses each example's seeded initial weights (what `specc export` does without
--weights), at batch sizes 1 and 37, through onnxruntime and ReferenceEvaluator.
"""
import glob
import os

import pytest
from onnx_helpers import assert_equivalent

from specc.backends.onnx.support import unexportable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "**", "*.nn"), recursive=True))


@pytest.mark.skipif(not EXAMPLES, reason="no examples/*.nn yet")
@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.relpath(p, ROOT) for p in EXAMPLES])
def test_example_exports_and_matches(path):
    from specc.frontend import compile_file
    from specc.init import initial_params

    program = compile_file(path)
    assert unexportable(program) == []
    if any(i.dtype == "int" for i in program.model.inputs):  # random floats are no token ids
        pytest.skip("a model of tokens: tests/examples runs `specc verify` on it (onnxruntime = NumPy = torch)")
    # ReferenceEvaluator runs convolutions in pure NumPy loops: keep it to conv-free examples for speed
    has_conv = any(layer.op in ("conv2d", "conv2d_transpose") for layer in program.all_layers())
    # the spec's static scale goes into the graph even without a run (what `specc export` does)
    m = program.model
    scales = [program.data.prep_of(i.name).scale if program.data is not None else None for i in m.inputs]
    if len(m.inputs) == 1 and len(m.outputs) == 1:
        assert_equivalent(program, initial_params(program), preprocess={"scale": scales[0]}, reference=not has_conv)
    else:
        _assert_graph_equivalent(program, initial_params(program), scales)


def _assert_graph_equivalent(program, params, scales):
    """Several inputs / outputs: every named ONNX output equals the NumPy backend's, at batch 1 and 37."""
    import numpy as np

    from specc.backends.numpy.backend import NumpyBackend
    from specc.backends.onnx import runtime
    from specc.backends.onnx.export import build_model

    model = build_model(program, params, preprocess=[{"scale": s} for s in scales])
    sess = runtime.session(model)
    m = program.model
    assert [i.name for i in sess.get_inputs()] == [i.name for i in m.inputs]
    assert [o.name for o in sess.get_outputs()] == [o.name for o in m.outputs]
    be = NumpyBackend(program, params, seed=0)
    for n in (1, 37):
        rng = np.random.default_rng(n)
        xs = [rng.standard_normal((n, *i.shape)).astype(np.float32) for i in m.inputs]
        got = sess.run(None, {i.name: x for i, x in zip(m.inputs, xs)})
        scaled = [x * np.float32(s) if s is not None else x for x, s in zip(xs, scales)]  # the graph scales them
        want = be.predict(scaled, 64)
        want = want if isinstance(want, list) else [want]
        for g, w, out in zip(got, want, m.outputs):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, err_msg=f"output {out.name}")
