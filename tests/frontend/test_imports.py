"""`specc check` stays light: no torch, onnx, onnxruntime or matplotlib in a fresh interpreter."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

OK = Path(__file__).parent / "ok"
HEAVY = ("torch", "onnx", "onnxruntime", "matplotlib", "sklearn")

PROBE = """
import json, sys
from specc.cli import main
rc = [main(["check", *sys.argv[1:]]) for _ in [0]][0]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"rc": rc, "heavy": heavy}}), file=sys.stderr)
"""


def _probe(*files):
    r = subprocess.run([sys.executable, "-c", PROBE.format(heavy=set(HEAVY)), *files], capture_output=True,
                       text=True, timeout=120)
    return json.loads(r.stderr.strip().splitlines()[-1])


def test_check_imports_no_heavy_modules():
    out = _probe(str(OK / "mnist_mlp.nn"), str(OK / "every_layer.nn"), str(OK / "data_sources.nn"))
    assert out["rc"] == 0
    assert out["heavy"] == []


def test_check_failure_imports_no_heavy_modules():
    out = _probe(str(Path(__file__).parent / "err" / "typo_layer.nn"))
    assert out["rc"] == 2 and out["heavy"] == []


def test_frontend_import_is_light():
    code = ("import sys, specc.frontend, specc.printer; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "[]", r.stderr
