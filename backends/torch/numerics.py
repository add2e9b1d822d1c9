"""How a GPU does float32 arithmetic: exact and reproducible unless asked to be fast.

By default CUDA convolutions may run in TF32 (a 10-bit mantissa: ~1e-3 relative
per product) and cuDNN may pick a different, non-deterministic algorithm on every
run. specc promises that a torch run follows the NumPy reference and that a run
repeats itself, so on CUDA it asks for IEEE float32 and deterministic kernels.
`fast_math` (`--fast-math`) gives both up for speed: TF32 matmuls and convolutions,
cuDNN's autotuner (benchmark mode), and whatever kernels are fastest.

These are process-wide torch settings; the backend applies them on CUDA only.
"""
from __future__ import annotations

import os

import torch


def settings(fast_math: bool) -> dict[str, bool]:
    """The torch flags for a run (what configure sets), as a plain record."""
    return {
        "tf32": bool(fast_math),
        "cudnn_benchmark": bool(fast_math),
        "deterministic": not fast_math,
    }


def configure(device: torch.device, fast_math: bool = False) -> dict[str, bool] | None:
    """Apply the settings for a run on `device`; None on CPU (which has no TF32 and is deterministic)."""
    if device.type != "cuda":
        return None
    s = settings(fast_math)
    if s["deterministic"]:
        # cuBLAS is deterministic only with a fixed workspace, read when it initializes
        # (before the first matmul); a value the user set is kept.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cuda.matmul.allow_tf32 = s["tf32"]
    torch.backends.cudnn.allow_tf32 = s["tf32"]
    torch.backends.cudnn.benchmark = s["cudnn_benchmark"]
    torch.backends.cudnn.deterministic = s["deterministic"]
    # warn_only: an op with no deterministic CUDA kernel (e.g. some pooling backward
    # passes) warns instead of stopping the run.
    torch.use_deterministic_algorithms(s["deterministic"], warn_only=True)
    return s
