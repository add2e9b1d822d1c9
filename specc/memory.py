"""Keep the memory of freed temporaries in the process, so a training step reuses it.

Every op of a step allocates fresh arrays of a few MB and frees them a moment later.
glibc's malloc serves such sizes with mmap (or returns the freed top of its heap to the
kernel once it passes the trim threshold), so the next step page-faults the same tens of
MB in again, zeroed by the kernel: on the char GPT of bench/text_models.py that was
~9000 faults and ~18 ms of system time per 70 ms step. Raising the two thresholds keeps
that memory in the heap (a process holds on to its peak, as torch's allocators do).
Only glibc has mallopt; elsewhere this does nothing. Both backends set it when built: torch's
CPU tensors come from malloc too (the char GPT's torch step on CPU, one thread: 33.5-35.5 ms without,
28.5-29.8 ms with, three runs each).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20    # the largest glibc accepts: bigger arrays still get their own mapping
TRIM_THRESHOLD = 1 << 30     # free memory at the top of the heap kept up to 1 GB

_done = False


def keep_freed_memory() -> bool:
    """Set glibc's thresholds once per process; True when they were set (False: not glibc, or refused)."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
