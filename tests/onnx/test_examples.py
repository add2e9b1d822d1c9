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
    # ReferenceEvaluator runs convolutions in pure NumPy loops: keep it to conv-free examples for speed
    has_conv = any(layer.op == "conv2d" for layer in program.all_layers())
    # the spec's static scale goes into the graph even without a run (what `specc export` does)
    scale = program.data.scale if program.data is not None else None
    assert_equivalent(program, initial_params(program), preprocess={"scale": scale}, reference=not has_conv)
