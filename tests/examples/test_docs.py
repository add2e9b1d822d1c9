"""The user docs cover the whole language and every command, and their spec snippets check."""
from __future__ import annotations

import os
import re

import pytest
from repo_paths import ROOT

from specc.commands import COMMANDS
from specc.data.sources import SOURCES
from specc.ops import INITIALIZERS, LOSSES, METRICS, OPS, OPTIMIZERS, SCHEDULES


def doc(name: str) -> str:
    return open(os.path.join(ROOT, "docs", name), encoding="utf-8").read()


def code_blocks(text: str) -> list[str]:
    """The bodies of the fenced blocks without a language tag (``` ... ```)."""
    blocks, current, lang = [], None, None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current, lang = [], line[3:].strip()
            else:
                if not lang:
                    blocks.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return blocks


@pytest.mark.parametrize("table,what", [(OPS, "layer"), (SOURCES, "source"), (LOSSES, "loss"),
                                        (OPTIMIZERS, "optimizer"), (SCHEDULES, "schedule"),
                                        (METRICS, "metric"), (INITIALIZERS, "initializer")])
def test_language_reference_names_everything(table, what):
    text = doc("language.md") + (doc("ops.md") if table is OPS else "")  # ops.md: generated from the definitions
    missing = [name for name in table if f"`{name}" not in text]
    assert not missing, f"docs/language.md does not document these {what}s: {missing}"


def test_ops_reference_is_generated_from_the_definitions():
    """docs/ops.md is the op definitions printed; regenerate with `python -m specc.ops.docs > docs/ops.md`."""
    from specc.ops.docs import markdown

    assert doc("ops.md") == markdown()


def test_cli_reference_covers_every_command():
    from specc.cli import build_parser

    parser = build_parser()
    built = next(a for a in parser._actions if a.dest == "command").choices
    text = doc("cli.md")
    missing = [name for name in COMMANDS if name in built and f"## `specc {name}`" not in text]
    assert not missing, f"docs/cli.md has no section for: {missing}"
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"):
        assert code in text


@pytest.mark.parametrize("page", ["language.md", "from-keras-pytorch.md"])
def test_complete_spec_snippets_check(page):
    from specc.frontend import compile_text

    snippets = [b for b in code_blocks(doc(page)) if re.match(r"(#[^\n]*\n)*model ", b) and "..." not in b]
    assert snippets, "expected at least one complete spec"
    for text in snippets:
        compile_text(text, path=os.path.join(ROOT, "examples", "snippet.nn"))


def test_running_one_command_imports_only_its_module():
    """`specc check` builds its own subparser only; `specc --help` still lists every command."""
    import subprocess
    import sys

    probe = ("import sys\nfrom specc import cli\n"
             "try:\n    cli.main(['fmt', '--check', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith('specc.commands.') and m != 'specc.commands._common'))")
    spec = __file__.replace("examples/test_docs.py", "frontend/ok/mnist_mlp.nn")
    r = subprocess.run([sys.executable, "-c", probe, spec], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "['specc.commands.fmt']", r.stdout + r.stderr
    listing = subprocess.run([sys.executable, "-m", "specc", "--help"], capture_output=True, text=True, timeout=120)
    from specc.commands import COMMANDS
    assert all(name in listing.stdout for name in COMMANDS)
