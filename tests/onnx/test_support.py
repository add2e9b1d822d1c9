"""The op table is complete, and exportability is known without importing onnx."""
import subprocess
import sys

from onnx_build import program

from specc.backends.onnx.support import SUPPORTED_OPS, unexportable
from specc.ir import Input, Layer, Model, Output, Pos, Program
from specc.ops import OPS


def test_exportable_flags_are_the_op_table():
    """An op's definition says whether it exports; the lowering table must agree both ways."""
    from specc.backends.onnx.lower import OP_TABLE

    assert set(OP_TABLE) == SUPPORTED_OPS
    assert set(OP_TABLE) <= set(OPS), f"lowerings for ops that do not exist: {sorted(set(OP_TABLE) - set(OPS))}"


def test_support_module_does_not_import_onnx():
    code = ("import sys, specc.backends.onnx.support, specc.backends.onnx; "
            "bad = [m for m in ('onnx', 'onnxruntime', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_supported_program_has_no_errors():
    prog = program((4,), [("dense", dict(units=3)), ("residual", [("relu", {})]), ("softmax", {})])
    assert unexportable(prog) == []


def test_unsupported_layer_reported_at_its_position():
    # Every op of the language exports today, so the layer names an op without a lowering.
    odd = Layer("odd_1", "odd", {"units": 4}, ("x",), ((4,),), (4,), pos=Pos("m.nn", 7, 9))
    prog = Program(Model("m", (Input("x", (4,)),), (odd,), (Output("output", "odd_1"),)), None, None,
                   path="m.nn", source_text="\n" * 6 + "        odd(4)\n")
    (err,) = unexportable(prog)
    assert (err.pos.line, err.pos.column) == (7, 9)
    assert "odd_1" in err.message and "ONNX" in err.message
    assert "odd(4)" in err.render()
