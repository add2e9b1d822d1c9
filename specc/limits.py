"""Declared sizes are checked before anything is allocated or decompressed.

A file header (IDX dims, an .npy member's shape) or a spec (`dense(2000000000)`)
can declare more memory than the machine has; allocating it first ends in a
MemoryError traceback or the OOM killer. These helpers turn such a declaration
into a clear error while nothing has been allocated yet.

The limit is the memory available now (MemAvailable on Linux, physical memory
elsewhere), or SPECC_MAX_BYTES when set (tests, shared machines).
Standard library only: `specc check` uses it.
"""
from __future__ import annotations

import math
import os

from .errors import SpecError
from .ir import Pos

WARN_BYTES = 1 << 30  # `check`/`summary` warn when a model needs more than this (1 GiB)


def available_bytes() -> int:
    """Bytes this process may reasonably allocate (see the module docstring)."""
    env = os.environ.get("SPECC_MAX_BYTES")
    if env:
        return int(env)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: no limit


def fmt_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def declared_bytes(shape, itemsize: int) -> int:
    """Exact byte count of an array of `shape` (Python ints: 2**31 * 2**31 * 4 does not wrap to 0)."""
    return math.prod(int(d) for d in shape) * int(itemsize)


def check_allocation(nbytes: int, what: str, pos: Pos | None = None, error=SpecError, hint: str | None = None) -> None:
    """Refuse an allocation of `nbytes` that exceeds the available memory, before it happens."""
    limit = available_bytes()
    if nbytes > limit:
        raise error(f"{what} needs {fmt_bytes(nbytes)}, more than the {fmt_bytes(limit)} of memory available",
                    pos, hint=hint)


# ---------------------------------------------------------------- model memory

def parameter_bytes(program, itemsize: int = 4) -> int:
    return sum(declared_bytes(p.shape, itemsize) for _, _, p in program.all_params())


def activation_bytes(program, batch: int, itemsize: int = 4) -> int:
    """Forward activations of one batch (every layer's output, the input included); backward needs about as much."""
    total = declared_bytes(program.model.input_shape, itemsize)
    for layer in program.all_layers():
        total += declared_bytes(layer.out_shape, itemsize)
    return total * int(batch)


def model_memory_lines(program, batch: int | None) -> list[str]:
    """What `check` and `summary` print: parameter memory, activation memory at the batch size, warnings."""
    params = parameter_bytes(program)
    lines = [f"parameter memory: {fmt_bytes(params)} (float32)"]
    if batch:
        acts = activation_bytes(program, batch)
        lines.append(f"activation memory at batch {batch}: {fmt_bytes(acts)} (forward; backward about as much again)")
    else:
        acts = 0
    # Training holds parameters, gradients and optimizer state (about 4x the parameters) plus activations.
    need = 4 * params + 2 * acts
    if need > WARN_BYTES:
        lines.append(f"warning: training needs about {fmt_bytes(need)} (parameters, gradients, optimizer state and "
                     f"activations), above {fmt_bytes(WARN_BYTES)}")
    return lines


def check_model_memory(program, batch: int | None, training: bool = True) -> None:
    """A clear error, before any allocation, when the model cannot fit in the available memory."""
    params = parameter_bytes(program)
    acts = activation_bytes(program, batch) if batch else 0
    need = (4 * params + 2 * acts) if training else (params + acts)
    what = f"model `{program.model.name}` ({fmt_bytes(params)} of parameters" + (
        f", {fmt_bytes(acts)} of activations at batch {batch})" if batch else ")")
    check_allocation(need, what, program.model.pos, hint="use smaller layers or a smaller batch"
                     if batch else "use smaller layers")


# ---------------------------------------------------------------- .npy / .npz headers

def _npy_header(f):
    """(shape, dtype, header length) of an .npy stream; reads the header only."""
    from numpy.lib import format as npformat

    version = npformat.read_magic(f)
    reader = {(1, 0): npformat.read_array_header_1_0, (2, 0): npformat.read_array_header_2_0}.get(version)
    if reader is None:
        raise ValueError(f"unsupported .npy version {version}")
    shape, _fortran, dtype = reader(f, max_header_size=100_000) if version == (1, 0) else reader(f)
    return shape, dtype, f.tell()


def check_npy_sizes(path, error=SpecError, memory: bool = True) -> None:
    """Every array of an .npy/.npz file declares no more bytes than it holds, nor than memory allows
    (memory=False for a memory-mapped file, which is never loaded whole).

    Runs before numpy allocates the declared shape (an .npz member claiming 10**12 rows
    would otherwise be allocated first and fail, or be killed, afterwards).
    """
    import zipfile

    path = os.fspath(path)
    where = Pos(file=path)

    def check(name, f, stored: int):
        try:
            shape, dtype, header = _npy_header(f)
        except (ValueError, EOFError, OSError, SyntaxError):
            return  # not a plain array header: numpy's own reader reports it
        if dtype.hasobject:
            return  # refused as a pickle by allow_pickle=False
        need = declared_bytes(shape, dtype.itemsize)
        label = f"array {name!r}" if name else "the array"
        if need > stored - header:
            raise error(f"{label} declares shape {list(shape)} ({fmt_bytes(need)}) but the file holds "
                        f"{fmt_bytes(max(stored - header, 0))}; the file is damaged or forged", where)
        if memory:
            check_allocation(need, f"{label} (shape {list(shape)})", where, error)

    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                for info in z.infolist():
                    if info.filename.endswith(".npy"):
                        with z.open(info) as f:
                            check(info.filename[:-4], f, info.file_size)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
            return  # the loader reports a damaged archive in its own words
    else:
        with open(path, "rb") as f:
            check(None, f, os.path.getsize(path))
