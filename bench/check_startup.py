"""Wall time of `specc check FILE` as a fresh process (goal < 0.2 s), next to `python -c pass`.

The file is the language reference's MNIST example (tests/frontend/ok/mnist_mlp.nn). Median of
--runs runs each; also shows the cost of `import lark` alone, so a slow result can be split into
interpreter, parser library and our own code.

    python bench/check_startup.py [--runs 9]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = Path(__file__).resolve().parent.parent / "tests" / "frontend" / "ok" / "mnist_mlp.nn"


def median_wall(cmd, runs: int, env=None) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + system) of the child.

    CPU time is the steadier number on a shared machine: waiting for a core counts
    in wall time but not in CPU time.
    """
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{r.stderr.decode()}")
    return statistics.median(walls), statistics.median(cpus)


BREAKDOWN = """
import time
t0 = time.perf_counter()
import lark
t1 = time.perf_counter()
import specc.cli, specc.frontend
t2 = time.perf_counter()
from specc.parser import _parser
_parser()
t3 = time.perf_counter()
specc.cli.build_parser()
t4 = time.perf_counter()
specc.frontend.compile_file({spec!r})
t5 = time.perf_counter()
print(f"{{t1 - t0:.3f}} {{t2 - t1:.3f}} {{t3 - t2:.3f}} {{t4 - t3:.3f}} {{t5 - t4:.3f}}")
"""


def breakdown(runs: int) -> list[float]:
    """Median seconds of: import lark, import specc, build the LALR parser, build argparse, compile."""
    rows = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", BREAKDOWN.format(spec=str(SPEC))], capture_output=True,
                             text=True, check=True).stdout
        rows.append([float(x) for x in out.split()])
    return [statistics.median(col) for col in zip(*rows)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    py = sys.executable
    rows = [("python -c pass", [py, "-c", "pass"]),
            ("python -c 'import lark'", [py, "-c", "import lark"]),
            ("python -m specc check", [py, "-m", "specc", "check", str(SPEC)])]
    script = shutil.which("specc")
    if script:
        rows.append(("specc check (console script)", [script, "check", str(SPEC)]))
    median_wall(rows[2][1], 1)  # warm the file cache
    print(f"spec: {os.path.relpath(SPEC)}   runs: {args.runs}   goal: specc check < 0.200 s (as installed)")
    with tempfile.TemporaryDirectory() as prefix:
        # pip compiles an installed package's bytecode; an editable checkout on a machine with
        # PYTHONDONTWRITEBYTECODE (as this one) compiles specc from source on every call. Both are
        # shown; the bytecode goes to a PYTHONPYCACHEPREFIX folder, never into the checkout.
        # The prefix holds every module's bytecode (the standard library's too), so each command
        # runs once untimed to fill it.
        installed = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        installed["PYTHONPYCACHEPREFIX"] = prefix
        for _, cmd in rows:
            median_wall(cmd, 1, installed)
        for how, env in (("as installed (bytecode)", installed),
                         ("from source (no bytecode)", dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))):
            print(how)
            base = None
            for label, cmd in rows:
                t, cpu = median_wall(cmd, args.runs, env)
                base = base or t
                print(f"  {label:30s} {t:7.3f} s   ({t / base:5.1f}x python -c pass, +{t - base:.3f} s)   "
                      f"cpu {cpu:.3f} s")
    parts = breakdown(args.runs)
    names = ["import lark", "import specc (cli, frontend)", "build Lark LALR parser", "argparse + commands",
             "compile_file"]
    print("inside the process, from source (median):")
    for name, s in zip(names, parts):
        print(f"  {name:30s} {s * 1e3:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
