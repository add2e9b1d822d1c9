"""Parquet files: numeric feature columns, one optional target column (numbers or labels).

The same rules as CSV (csvfile.choose_columns): the target defaults to the
last column, `features=[...]` picks and orders the feature columns. Columns
are read with pyarrow (the `data` extra) one at a time, by one thread ahead of
the one that converts them (more reading threads would read faster, but each
holds its own buffers, and the peak must stay under twice the array), and go
into one preallocated float32 array eight at a time. A Parquet file has no lines, so problems name
the column and the row (counted from 1, as a spreadsheet would).
"""
from __future__ import annotations

from contextlib import closing

import numpy as np

from ..errors import DataError
from ..ir import Pos
from .csvfile import choose_columns
from .threads import in_order, usable_cpus
from .types import Raw

EXTRA_HINT = "pip install 'specc[data]'  (pyarrow reads Parquet)"
GROUP = 8  # feature columns gathered before they go into the array together (+8 float32 columns of memory)


def load_parquet(path: str, target: str | None = None, want_target: bool = True,
                 features: list[str] | None = None) -> Raw:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs pyarrow, which is not installed", Pos(path), hint=EXTRA_HINT) from None
    where = Pos(path)
    try:
        header = list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"not a readable Parquet file ({_reason(e)})", where) from None
    cols, tcol = choose_columns(path, header, target, want_target, features, where)
    try:
        reader = pq.ParquetFile(path)
        schema = reader.schema_arrow
        n = reader.metadata.num_rows
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"cannot read the Parquet file ({_reason(e)})", where) from None
    if n == 0:
        raise DataError("the file has columns but no rows", where)
    for j in cols:
        _check_type(path, header[j], schema.field(header[j]).type, pa, numeric_only=True)
    if tcol is not None:
        _check_type(path, header[tcol], schema.field(header[tcol]).type, pa, numeric_only=False)

    # a column is read (a thread ahead, with a spare core) while the last one goes into a block of
    # float32 rows; every GROUP columns the block goes into the array in one transposing copy (writing
    # each column straight into a row-major array touches every row's cache line once per column:
    # 200,000 x 50 values took 0.14 s that way, 0.09 s this way on one core)
    x = np.empty((n, len(cols)), np.float32)
    block = np.empty((min(GROUP, len(cols)), n), np.float32)
    names = [header[j] for j in cols]

    def read_column(name: str):
        return reader.read(columns=[name], use_threads=False).column(0)  # one thread at a time reads

    try:
        # closing: the reading thread is done with `reader` before anything else uses it, also after an error
        with closing(in_order(read_column, ((name,) for name in names), 1 if usable_cpus() > 1 else 0)) as columns:
            for k, (name, column) in enumerate(zip(names, columns)):
                _check_nulls(path, name, column)
                _fill(block[k % GROUP], column, path, name)
                del column
                if k % GROUP == GROUP - 1 or k == len(names) - 1:
                    g = k - k % GROUP
                    x[:, g:k + 1] = block[:k + 1 - g].T
        target_column = reader.read(columns=[header[tcol]]).column(0) if tcol is not None else None
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"cannot read the Parquet file ({_reason(e)})", where) from None

    y = y_text = None
    labels = False
    if tcol is not None:
        name = header[tcol]
        column = target_column
        _check_nulls(path, name, column)
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = column.cast(kind.value_type), kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            y, labels = np.asarray(column.to_numpy(zero_copy_only=False), dtype=str), True
        else:
            y = column.to_numpy().astype(np.float64)
            bad = np.flatnonzero(~np.isfinite(y))
            if len(bad):
                raise DataError(f"row {bad[0] + 1}: the target {name!r} is {y[bad[0]]}, not a finite number", where)
            if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
                y_text = _as_text(y.astype(np.int64))  # matched against `classes` written as numbers
    n_f = len(cols)
    return Raw(x=x, y=y, file=path, features=f"{n_f} feature column{'s' if n_f != 1 else ''}",
               labels=labels, y_text=y_text)


def _fill(row: np.ndarray, column, path: str, name: str) -> None:
    """A column's values into `row` as float32, chunk by chunk; NaN, inf or a value beyond float32
    is named with its row (counted from 1)."""
    at = 0
    for chunk in column.chunks:
        with np.errstate(over="ignore"):  # beyond float32 becomes inf, named below
            np.copyto(row[at:at + len(chunk)], chunk.to_numpy(zero_copy_only=False), casting="unsafe")
        at += len(chunk)
    if not np.isfinite(row).all():
        bad = int(np.flatnonzero(~np.isfinite(row))[0])
        raise DataError(f"column {name!r}, row {bad + 1}: {row[bad]} is not a finite number", Pos(path))


def _as_text(y: np.ndarray) -> np.ndarray:
    """Integers as their decimal text, in strings just wide enough (astype(str) would take 21 characters
    each: 17 MB for 200,000 labels). Labels in a small range are looked up, not formatted one by one."""
    if not len(y):
        return y.astype("<U1")
    low, high = int(y.min()), int(y.max())
    widest = max(len(str(low)), len(str(high)))
    if high - low <= 4 * len(y):
        return np.arange(low, high + 1).astype(f"<U{widest}")[y - low]
    return y.astype(f"<U{widest}")


def _check_type(path, name, kind, pa, numeric_only: bool) -> None:
    """Feature columns are numeric; a target holds numbers or labels."""
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
    if numeric_only and not numeric:
        raise DataError(f"column {name!r} holds {kind} values; feature columns must be numeric", Pos(path),
                        hint="only the target column may hold labels")
    if not numeric and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                            or pa.types.is_dictionary(kind)):
        raise DataError(f"the target {name!r} holds {kind} values; a target holds numbers or labels", Pos(path))


def _check_nulls(path, name, column) -> None:
    """Missing values, named with the column and the first row (counted from 1)."""
    if column.null_count:
        first = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataError(f"column {name!r} has {column.null_count} missing value{'s' if column.null_count != 1 else ''} "
                        f"(the first in row {first + 1})", Pos(path))


def _reason(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
