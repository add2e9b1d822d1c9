"""Import direction and start-up cost: `specc check`/`summary`/`fmt` stay light."""
from __future__ import annotations

import subprocess
import sys
import textwrap

HEAVY = ("torch", "onnx", "onnxruntime", "matplotlib", "numpy", "tqdm")


def _modules_after(argv, tmp_path):
    spec = tmp_path / "m.nn"
    spec.write_text("model m {\n input [4]\n dense(3); relu\n dense(2); softmax\n}\n"
                    "data { source = xor() }\ntrain { loss = cross_entropy; optimizer = sgd(lr=0.1) }\n")
    code = textwrap.dedent(f"""
        import sys, contextlib, io
        import specc.cli
        with contextlib.redirect_stdout(io.StringIO()):
            rc = specc.cli.main({argv!r} + [{str(spec)!r}])
        print(rc)
        print(" ".join(sorted(sys.modules)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    return int(out[0]), set(out[1].split())


def test_check_summary_fmt_import_no_heavy_library(tmp_path):
    for argv in (["check"], ["summary"], ["fmt", "--check"]):
        rc, modules = _modules_after(argv, tmp_path)
        assert rc in (0, 1), argv
        loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY)
        assert not loaded, f"specc {argv[0]} imported {loaded[:5]}"


def test_ir_and_frontend_never_import_a_backend():
    code = "import sys, specc.frontend, specc.printer, specc.ir; print([m for m in sys.modules if 'backends' in m])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
