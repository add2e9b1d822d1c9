"""Fixtures every test directory may use."""
import pytest


@pytest.fixture
def cli(capsys):
    """Run `specc ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from specc.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
