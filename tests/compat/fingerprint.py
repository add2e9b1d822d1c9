"""Fingerprints of a spec: parameter names and shapes, initial weights, and weights after a short run.

Run under v1 once to write v1_golden.json (the record of what v1 compiled and trained); the test in
test_v1_compat.py recomputes them with the current code. Every v1 spec must give the same names,
shapes and initial weights bit for bit (seeded NumPy draws, the same on every CPU), and the same
trained weights up to the float32 rounding that differs between CPUs (see `RTOL`).

    python tests/compat/fingerprint.py tests/compat    # writes v1_golden.json and v1_trained.npz
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

# Trained weights are compared within a tolerance, not by hash: OpenBLAS picks its matmul kernel
# for the CPU at run time (Haswell, Zen, SkylakeX, ...), and each sums float32 products in its own
# order. Measured on one machine between two kernels (OPENBLAS_CORETYPE=Haswell vs Sandybridge),
# after these 6 steps, on the v1 specs that train here: at most 1.2e-7 apart, 2.2e-6 relative.
# A change in the math (an init, an update rule, one step more or less) moves weights by about
# lr * grad, 1e-4 or more. RTOL/ATOL sit about 8x above the first and 100x below the second, and
# every trained weight is kept (v1_trained.npz, 17K float32), so one weight moved is seen.
RTOL, ATOL = 1e-5, 1e-6


def specs() -> list[Path]:
    return sorted((ROOT / "examples").glob("*.nn")) + sorted((ROOT / "tests" / "frontend" / "ok").glob("*.nn"))


def digest(params: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(params):
        h.update(key.encode())
        h.update(np.ascontiguousarray(params[key], np.float32).tobytes())
    return h.hexdigest()[:24]


def trained_mismatches(now: dict, want: dict) -> list[str]:
    """The parameters whose trained weights differ beyond RTOL/ATOL (empty: they match)."""
    if sorted(now) != sorted(want):
        return [f"parameters {sorted(now)} != {sorted(want)}"]
    return [key for key in sorted(want)
            if np.shape(now[key]) != np.shape(want[key])
            or not np.allclose(now[key], want[key], rtol=RTOL, atol=ATOL)]


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
                out["trained"] = {k: np.asarray(v, np.float32) for k, v in result.params.items()}
        except Exception as e:  # data not on this machine (MNIST): names and init still count
            out["trained"] = f"unavailable: {type(e).__name__}"
    return out


def main(out_dir: str) -> None:
    """v1_golden.json: names, shapes, init digests (and a digest of the trained weights, for the
    record); v1_trained.npz: the trained weights themselves, keyed "SPEC::PARAM"."""
    golden, arrays = {}, {}
    for path in specs():
        name = str(path.relative_to(ROOT))
        golden[name] = fingerprint(path)
        trained = golden[name].get("trained")
        if isinstance(trained, dict):
            arrays.update({f"{name}::{k}": v for k, v in trained.items()})
            golden[name]["trained"] = digest(trained)
    Path(out_dir, "v1_golden.json").write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    np.savez_compressed(Path(out_dir, "v1_trained.npz"), **arrays)


def golden_trained(npz_path: Path) -> dict[str, dict[str, np.ndarray]]:
    """v1_trained.npz back as {spec: {param: weights}} (never unpickled)."""
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(npz_path, allow_pickle=False) as archive:
        for key in archive.files:
            spec, param = key.split("::", 1)
            out.setdefault(spec, {})[param] = archive[key]
    return out


if __name__ == "__main__":
    main(sys.argv[1])
