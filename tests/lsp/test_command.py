"""`specc lsp` as a command: without the `lsp` extra it says how to install it (exit 2, no traceback); its flags."""
from __future__ import annotations

import subprocess
import sys


def test_without_pygls_exit_2_with_the_install_line():
    code = "import sys; sys.modules['pygls'] = None; import specc.cli; sys.exit(specc.cli.main(['lsp']))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip() == "specc lsp needs pygls: pip install 'specc[lsp]'"


def test_full_check_flag_publishes_the_same_diagnostics():
    """`specc lsp --full-check` (what bench/lsp_latency.py compares against) answers every edit as the default does."""
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
    from lsp_latency import Session
    from parse_1000 import spec

    text = spec(60)
    lines = text.split("\n")
    target = next(i for i, line in enumerate(lines) if line.strip().startswith("dense(32)"))
    good, bad = lines[target], lines[target].replace("dense(32)", "dense(32, unit=3)")
    for flags in [("--full-check",), ()]:
        session = Session(text, target, good, bad, *flags)
        try:
            for _ in range(4):  # toggle() checks the count of diagnostics for each version
                assert session.toggle() < 30
        finally:
            session.server.close()
