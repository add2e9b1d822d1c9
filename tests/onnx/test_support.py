"""The op table is complete, and exportability is known without importing onnx."""
import subprocess
import sys

from onnx_build import program

from specc.backends.onnx.support import SUPPORTED_OPS, UNSUPPORTED, unexportable
from specc.ir import Layer, Model, Pos, Program
from specc.ops import OPS


def test_every_op_has_a_row_or_a_reason():
    from specc.backends.onnx.lower import OP_TABLE

    missing = set(OPS) - set(OP_TABLE) - set(UNSUPPORTED)
    assert not missing, f"ops without an ONNX lowering or a listed reason: {sorted(missing)}"
    assert all(reason.strip() for reason in UNSUPPORTED.values())


def test_support_list_is_the_op_table():
    from specc.backends.onnx.lower import OP_TABLE

    assert set(OP_TABLE) == SUPPORTED_OPS
    assert not SUPPORTED_OPS & set(UNSUPPORTED)


def test_support_module_does_not_import_onnx():
    code = ("import sys, specc.backends.onnx.support, specc.backends.onnx; "
            "bad = [m for m in ('onnx', 'onnxruntime', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_supported_program_has_no_errors():
    prog = program((4,), [("dense", dict(units=3)), ("residual", [("relu", {})]), ("softmax", {})])
    assert unexportable(prog) == []


def test_unsupported_layer_reported_at_its_position():
    inner = Layer("lstm_1", "lstm", {"units": 4}, (4,), (4,), pos=Pos("m.nn", 7, 9))
    res = Layer("residual_1", "residual", {}, (4,), (4,), body=(inner,), pos=Pos("m.nn", 6, 5))
    prog = Program(Model("m", "x", (4,), (res,)), None, None, path="m.nn",
                   source_text="\n" * 6 + "        lstm(4)\n")
    (err,) = unexportable(prog)
    assert (err.pos.line, err.pos.column) == (7, 9)
    assert "lstm_1" in err.message and "ONNX" in err.message
    assert "lstm(4)" in err.render()
