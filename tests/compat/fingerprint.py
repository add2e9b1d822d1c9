"""Fingerprints of a spec: parameter names and shapes, initial weights, and weights after a short run.

Run under v1 once to write v1_golden.json (the record of what v1 compiled and trained); the test in
test_v1_compat.py recomputes them with the current code. Every v1 spec must give the same names,
shapes, initial weights and trained weights, bit for bit.

    python tests/compat/fingerprint.py > tests/compat/v1_golden.json
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
STEPS = 6  # a short run: every layer's backward and the optimizer have run


def specs() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.nn")) + sorted((ROOT / "tests" / "frontend" / "ok").glob("*.nn"))


def digest(params: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(params):
        h.update(key.encode())
        h.update(np.ascontiguousarray(params[key], np.float32).tobytes())
    return h.hexdigest()[:24]


def fingerprint(path: Path) -> dict:
    from specc.frontend import compile_file
    from specc.init import initial_params

    program = compile_file(str(path))
    out = {"params": [[k, list(p.shape)] for k, _layer, p in program.all_params()],
           "init": digest(initial_params(program))}
    if program.train is not None and program.data is not None:
        from specc.driver import Trainer

        try:
            with tempfile.TemporaryDirectory() as tmp:
                steps = compile_file(str(path), overrides=[f"train.steps={STEPS}"])
                result = Trainer(steps, backend="numpy", out=os.path.join(tmp, "run"), quiet=True,
                                 handle_signals=False).run()
                out["trained"] = digest(result.params)
        except Exception as e:  # data not on this machine (MNIST): names and init still count
            out["trained"] = f"unavailable: {type(e).__name__}"
    return out


def main() -> None:
    golden = {str(p.relative_to(ROOT)): fingerprint(p) for p in specs()}
    json.dump(golden, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
