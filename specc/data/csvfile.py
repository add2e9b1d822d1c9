"""CSV files: a header row, numeric feature columns, one optional target column.

The target column may hold numbers (regression values or integer class
indices) or labels such as "setosa" (mapped to class indices later, jointly
over every source of the spec). Every problem names the file, the line and
the column. Blank lines are skipped; a UTF-8 byte-order mark is ignored.
"""
from __future__ import annotations

import csv

import numpy as np

from ..errors import DataError, did_you_mean
from ..ir import Pos
from .types import Raw


def _cell_error(msg: str, path: str, line: int, row: list[str], j: int, delimiter: str, hint=None) -> DataError:
    """An error at field j of a row; the row is shown with a caret (exact for unquoted lines)."""
    col = sum(len(f) + len(delimiter) for f in row[:j]) + 1
    shown = "\n" * (int(line) - 1) + delimiter.join(row)  # render() picks line `line` of this text
    return DataError(msg, Pos(path, int(line), col), hint=hint, source=shown)


def _bad_cell(path, rows, lines, names, cols, delimiter):
    """Find the first cell that is not a finite number and describe it."""
    for r, (row, line) in enumerate(zip(rows, lines)):
        for j in cols:
            text = row[j]
            try:
                v = float(text)
            except ValueError:
                what = "is empty" if not text.strip() else f"{text.strip()!r} is not a number"
                return _cell_error(f"line {line}, column {names[j]!r}: {what}", path, line, row, j, delimiter,
                                   hint="feature columns must be numeric; only the target column may hold labels")
            if not np.isfinite(v):
                return _cell_error(f"line {line}, column {names[j]!r}: {text.strip()!r} is not a finite number",
                                   path, line, row, j, delimiter)
    return None


def load_csv(path: str, target: str | None = None, delimiter: str = ",", want_target: bool = True) -> Raw:
    """Read a CSV file. `target=None` means the last column (or none when want_target is False)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = None
            rows, lines = [], []
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                if header is None:
                    header = [c.strip() for c in row]
                    continue
                if len(row) != len(header):
                    raise _cell_error(f"line {reader.line_num} has {len(row)} fields; the header has {len(header)}",
                                      path, reader.line_num, row, 0, delimiter, hint=f"columns: {', '.join(header)}")
                rows.append(row)
                lines.append(reader.line_num)
    except UnicodeDecodeError as e:
        raise DataError(f"not a UTF-8 text file ({e.reason} at byte {e.start})", Pos(path)) from None
    except csv.Error as e:
        raise DataError(f"malformed CSV: {e}", Pos(path)) from None
    if header is None:
        raise DataError("the file is empty (expected a header row and data rows)", Pos(path))
    if not rows:
        raise DataError("the file has a header but no data rows", Pos(path, 1, 1))

    if not want_target and target is None:
        tcol = None
    elif target is None:
        tcol = len(header) - 1
    elif target in header:
        tcol = header.index(target)
    else:
        raise DataError(f"no target column {target!r}; the columns are {', '.join(header)}",
                        Pos(path, 1, 1), hint=did_you_mean(target, header))
    cols = [j for j in range(len(header)) if j != tcol]
    if not cols:
        raise DataError(f"no feature columns: the only column is the target {header[tcol]!r}", Pos(path, 1, 1))

    lines_arr = np.asarray(lines, np.int64)
    try:
        x = np.array([[row[j] for j in cols] for row in rows], dtype=np.float64)
        ok = np.isfinite(x).all()
    except ValueError:
        ok = False
    if not ok:
        raise _bad_cell(path, rows, lines, header, cols, delimiter)

    y = None
    if tcol is not None:
        texts = [row[tcol].strip() for row in rows]
        for r, t in enumerate(texts):
            if not t:
                raise _cell_error(f"line {lines[r]}: the target {header[tcol]!r} is empty",
                                  path, lines[r], rows[r], tcol, delimiter)
        try:
            y = np.array(texts, dtype=np.float64)
            if not np.isfinite(y).all():
                r = int(np.flatnonzero(~np.isfinite(y))[0])
                raise _cell_error(f"line {lines[r]}: the target {header[tcol]!r} is {texts[r]!r}, not a finite number",
                                  path, lines[r], rows[r], tcol, delimiter)
        except ValueError:
            y = np.array(texts, dtype=str)  # labels

    n = len(cols)
    is_text = y is not None and y.dtype.kind == "U"
    return Raw(x=x, y=y, file=path, features=f"{n} feature column{'s' if n != 1 else ''}",
               lines=lines_arr, labels=is_text,
               y_text=np.array(texts, dtype=str) if y is not None and not is_text else None)
