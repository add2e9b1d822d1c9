"""Every op has cases and a row in every backend table; no table has a row for an op that does not exist."""
from __future__ import annotations

import pytest
from conformance_cases import CASES, IDS

from specc.ops import OPS


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_has_a_case(op):
    assert OPS[op].examples, f"{op} has no `examples`: add an Example(...) to its definition in specc/ops/"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_case_compiles_to_a_model_that_uses_its_op(case):
    """A case that lost its op (a typo, an op renamed) would test nothing."""
    assert case.op in {layer.op for layer in case.program.model.layers}, case.spec_text()


def test_numpy_units_match_the_ops():
    from specc.backends.numpy.ops import OPS as NUMPY_OPS

    assert sorted(set(OPS) - set(NUMPY_OPS)) == [], "ops without a NumPy unit"
    assert sorted(set(NUMPY_OPS) - set(OPS)) == [], "NumPy units for ops that do not exist"


def test_torch_table_matches_the_ops():
    pytest.importorskip("torch")
    from specc.backends.torch.ops import OP_TABLE

    assert sorted(set(OPS) - set(OP_TABLE)) == [], "ops without a torch row"
    assert sorted(set(OP_TABLE) - set(OPS)) == [], "torch rows for ops that do not exist"


def test_onnx_table_matches_the_exportable_ops():
    from specc.backends.onnx.lower import OP_TABLE

    exportable = {name for name, op in OPS.items() if op.exportable}
    assert sorted(exportable - set(OP_TABLE)) == [], "exportable ops without an ONNX lowering"
    assert sorted(set(OP_TABLE) - exportable) == [], "ONNX lowerings for ops that do not exist or are not exportable"


@pytest.mark.parametrize("case", [c for c in CASES if c.example.training], ids=lambda c: c.id)
def test_training_batchnorm_cases_use_batches_of_two_or_more(case):
    """Batch statistics of one example are degenerate (zero variance, a zero input gradient)."""
    if any(layer.op == "batchnorm" for layer in case.program.model.layers):
        assert min(case.example.batches) >= 2, f"{case.id}: give it batches=(2, ...) or more"
