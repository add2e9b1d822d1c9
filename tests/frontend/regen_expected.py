"""Rewrite err/NAME.expected from what `specc check` prints now (review the diff before keeping it!).

    python tests/frontend/regen_expected.py typo_layer lr_zero     # some cases
    python tests/frontend/regen_expected.py --all                  # every case

Cases with an err/NAME.xfail are skipped by --all (their .expected is what *should* print).
The expected file holds the first diagnostic's head line and its hint line, if any.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

ERR = Path(__file__).resolve().parent / "err"


def current(name: str) -> list[str]:
    from specc.cli import main

    err = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ERR)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            main(["check", f"{name}.nn"])
    finally:
        os.chdir(cwd)
    lines = err.getvalue().splitlines()
    heads = [i for i, l in enumerate(lines) if l.startswith(f"{name}.nn:")] + [len(lines)]
    return [lines[0]] + [l for l in lines[1:heads[1]] if l.startswith("  hint: ")]


def main(argv: list[str]) -> int:
    # --all leaves known-bug cases (NAME.xfail) alone: their .expected holds the *correct* output.
    names = sorted(p.stem for p in ERR.glob("*.nn") if not (ERR / f"{p.stem}.xfail").exists()) \
        if argv == ["--all"] else argv
    for name in names:
        new = "\n".join(current(name)) + "\n"
        path = ERR / f"{name}.expected"
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if new != old:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path.name}:\n  - {old.strip()}\n  + {new.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
