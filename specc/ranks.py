"""Which process of a torchrun job this is, read from the environment torchrun sets.

No torch import: the driver and the CLI decide who writes files and prints
(rank 0 only) before any backend is built. backends/torch/distributed.py reads
the same variables through these functions.
"""
from __future__ import annotations

import os


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    """Whether this process should write files and print (rank 0, or no distribution)."""
    return rank() == 0
