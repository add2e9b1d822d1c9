"""Non-finite data is refused where it enters (issue 17, item 5).

NaN or inf in an input, a value that overflows float32 (1e300 is finite in
float64, where a check used to run, and inf once training sees it), or a value
that overflows after standardization: a DataError naming the file, the row and
the column, before any training. Shared by every reader (npz, CSV, IDX, ...):
a reader that knows its file's line numbers passes them as `lines`.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError
from ..ir import Pos
from .preprocess import CHUNK

CHUNK_BYTES = 8 << 20  # at most this much float32 per piece checked


def first_nonfinite(x: np.ndarray, as_float32: bool = True) -> tuple[int, int, float] | None:
    """(row, flat column, value) of the first element that is not finite (in float32), or None."""
    flat = x.reshape(len(x), -1) if x.ndim > 1 else x.reshape(-1, 1)
    if flat.dtype.kind not in "fc":
        return None  # integers and booleans are always finite (and fit float32's range)
    rows = max(1, min(CHUNK, CHUNK_BYTES // (4 * max(flat.shape[1], 1))))  # streamed data: bounded reads
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(0, len(flat), rows):
            part = flat[i:i + rows]
            bad = ~np.isfinite(part.astype(np.float32) if as_float32 else part)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                return i + int(r), int(c), float(part[r, c])
    return None


def check_finite(x: np.ndarray, file: str, what: str = "input", lines=None, columns=None,
                 after: str | None = None) -> None:
    """Raise a DataError naming file, row and column when `x` holds NaN/inf or values beyond float32."""
    found = first_nonfinite(x)
    if found is None:
        return
    row, col, value = found
    line = int(lines[row]) if lines is not None and row < len(lines) else 0
    column = columns[col] if columns is not None and col < len(columns) else f"feature {col}"
    where = f"line {line}" if line else f"row {row}"
    if after:
        problem = f"becomes {value:g} after {after}"
    elif np.isnan(value) or np.isinf(value):
        problem = f"is {value:g}"
    else:
        problem = f"is {value:g}, beyond float32's range (about 3.4e38)"
    raise DataError(f"{what} at {where}, {column} {problem}; training needs finite numbers",
                    Pos(file, line, col + 1 if line else 0),
                    hint="remove or fill the row (specc reads no NaN/inf)" if not after
                    else "the feature's spread is too small or its values too large to standardize; rescale it")
