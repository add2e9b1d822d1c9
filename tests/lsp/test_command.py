"""`specc lsp` without the `lsp` extra says how to install it (exit 2, no traceback)."""
from __future__ import annotations

import subprocess
import sys


def test_without_pygls_exit_2_with_the_install_line():
    code = "import sys; sys.modules['pygls'] = None; import specc.cli; sys.exit(specc.cli.main(['lsp']))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip() == "specc lsp needs pygls: pip install 'specc[lsp]'"
