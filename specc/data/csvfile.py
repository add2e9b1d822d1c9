"""CSV files: a header row, numeric feature columns, one optional target column.

The target column may hold numbers (regression values or integer class
indices) or labels such as "setosa" (mapped to class indices later, jointly
over every source of the spec). Every problem names the file, the line and
the column. Blank lines are skipped; a UTF-8 byte-order mark is ignored.

Two readers, one behaviour:
  * the fast one is pyarrow's multi-threaded CSV reader (the `data` extra),
    parsing feature columns straight to float32, piece by piece into one
    preallocated array (no float64 or whole-table copy is ever held);
  * the exact one walks the file with Python's `csv` module. It runs when
    pyarrow is not installed, when the fast reader fails or sees anything
    it cannot place exactly (a bad cell, a ragged row, blank lines inside
    the file, a non-finite value), and then finds and words the first
    problem with its line and column. So a good file is read fast, and a
    bad file gets the same message it always got.
"""
from __future__ import annotations

import csv

import numpy as np

from ..errors import DataError, did_you_mean
from ..ir import Pos
from .types import Raw

CHUNK_BYTES = 1 << 22  # bytes of the file parsed at a time (4 MB: pyarrow's threads still get 4 blocks)


def load_csv(path: str, target: str | None = None, delimiter: str = ",", want_target: bool = True,
             features: list[str] | None = None) -> Raw:
    """Read a CSV file. `target=None` means the last column (or none when want_target is False).
    `features`: the feature columns to use, in this order (default: every column but the target)."""
    raw = _load_fast(path, target, delimiter, want_target, features)
    if raw is None:
        raw = _load_exact(path, target, delimiter, want_target, features)
    return raw


# ---- column choice (shared by both readers and by Parquet) -------------------

def choose_columns(path: str, header: list[str], target: str | None, want_target: bool,
                   features: list[str] | None, pos: Pos | None = None) -> tuple[list[int], int | None]:
    """(feature column indices, target column index or None), or a DataError naming the columns."""
    pos = pos or Pos(path, 1, 1)
    if not want_target and target is None:
        tcol = None
    elif target is None:
        tcol = len(header) - 1
        if features is not None and header[tcol] in features:
            tcol = None if not want_target else _last_other(header, features)
    elif target in header:
        tcol = header.index(target)
    else:
        raise DataError(f"no target column {target!r}; the columns are {', '.join(header)}",
                        pos, hint=did_you_mean(target, header))
    if features is None:
        cols = [j for j in range(len(header)) if j != tcol]
    else:
        cols = []
        if len(set(features)) != len(features):
            raise DataError(f"`features` names a column twice: {', '.join(features)}", pos)
        for name in features:
            if name not in header:
                raise DataError(f"no feature column {name!r}; the columns are {', '.join(header)}",
                                pos, hint=did_you_mean(name, header))
            j = header.index(name)
            if j == tcol:
                raise DataError(f"column {name!r} is both a feature and the target", pos,
                                hint="name the target with `target=...` and leave it out of `features`")
            cols.append(j)
    if not cols:
        raise DataError(f"no feature columns: the only column is the target {header[tcol]!r}", pos)
    return cols, tcol


def _last_other(header: list[str], features: list[str]) -> int | None:
    """The default target when `features` names the last column: the last column not a feature."""
    rest = [j for j, h in enumerate(header) if h not in features]
    return rest[-1] if rest else None


def _describe(n: int) -> str:
    return f"{n} feature column{'s' if n != 1 else ''}"


# ---- the fast reader ----------------------------------------------------------

def _load_fast(path, target, delimiter, want_target, features) -> Raw | None:
    """pyarrow's reader; None when pyarrow is missing or the exact reader must decide.

    The file is parsed in pieces of about CHUNK_BYTES, cut at line ends, each
    straight into its rows of one preallocated float32 array: the peak is that
    array plus one piece, not a whole Arrow table next to the array. The rows
    of every piece must equal its lines, so each sample's line number is known
    (a blank line or a quoted line break inside sends the file to the exact
    reader).
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv
    except ImportError:
        return None
    head = _header(path, delimiter)
    if head is None or head[1] != 1 or len(set(head[0])) != len(head[0]):
        return None  # empty file, blank lines before the header, repeated names: the exact reader words it
    header = head[0]
    cols, tcol = choose_columns(path, header, target, want_target, features)
    n = _record_lines(path) - 1
    if n <= 0:
        return None
    names = [f"c{j}" for j in range(len(header))]
    types = {names[j]: pa.float32() for j in cols}
    if tcol is not None:
        types[names[tcol]] = pa.string()
    options = dict(
        read_options=pcsv.ReadOptions(column_names=names),
        parse_options=pcsv.ParseOptions(delimiter=delimiter),
        convert_options=pcsv.ConvertOptions(
            column_types=types, include_columns=[names[j] for j in cols] + ([names[tcol]] if tcol is not None else []),
            null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False))

    x = np.empty((n, len(cols)), np.float32)
    targets = []
    done = 0
    with open(path, "rb") as f:
        f.readline()  # the header (and a byte-order mark)
        while piece := f.read(CHUNK_BYTES):
            piece += f.readline()  # finish the last line
            if done == n:
                break  # only the blank lines at the end are left (n does not count them)
            rows = min(piece.count(b"\n") + (0 if piece.endswith(b"\n") else 1), n - done)
            try:
                table = pcsv.read_csv(pa.py_buffer(piece), **options)
            except (pa.ArrowException, UnicodeDecodeError):
                return None
            if table.num_rows != rows or done + rows > n:
                return None
            for k, j in enumerate(cols):
                column = table.column(names[j])
                at = done
                for chunk in column.chunks:
                    x[at:at + len(chunk), k] = chunk.to_numpy(zero_copy_only=True)
                    at += len(chunk)
            if tcol is not None:
                targets.append(pc.utf8_trim_whitespace(table.column(names[tcol])))  # a copy: the piece can go
            done += rows
            del table
            pa.default_memory_pool().release_unused()  # the piece's buffers back to the system before the next
    if done != n or not np.isfinite(x).all():
        return None

    y = y_text = None
    is_text = False
    if tcol is not None:
        texts = pa.chunked_array([c for t in targets for c in t.chunks], pa.string())
        if pc.any(pc.equal(pc.utf8_length(texts), 0)).as_py():
            return None
        try:
            y = pc.cast(texts, pa.float64()).to_numpy()
        except pa.ArrowException:
            y, is_text = texts.to_numpy(zero_copy_only=False).astype(str), True
        if not is_text:
            if not np.isfinite(y).all():
                return None
            y_text = texts.to_numpy(zero_copy_only=False).astype(str)
    return Raw(x=x, y=y, file=path, features=_describe(len(cols)), lines=np.arange(2, n + 2, dtype=np.int64),
               labels=is_text, y_text=y_text)


def _header(path: str, delimiter: str) -> tuple[list[str], int] | None:
    """(stripped header names, its line number), or None for a file without one (or not UTF-8)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            for row in reader:
                if row and any(c.strip() for c in row):
                    return [c.strip() for c in row], reader.line_num
    except (UnicodeDecodeError, csv.Error):
        return None
    return None


def _record_lines(path: str) -> int:
    """The number of lines in the file, not counting blank lines at its end."""
    count, tail = 0, b""
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            count += block.count(b"\n")
            tail = block[-4096:] if len(block) >= 4096 else (tail + block)[-4096:]
    if tail and not tail.endswith(b"\n"):
        count += 1
    return count - _trailing_blank_lines(tail)


def _trailing_blank_lines(tail: bytes) -> int:
    """Blank lines after the last record: newlines in the trailing whitespace beyond the first one."""
    rest = tail[len(tail.rstrip(b"\r\n\t ")):]
    return max(rest.count(b"\n") - 1, 0) if rest.endswith(b"\n") else rest.count(b"\n")


# ---- the exact reader ---------------------------------------------------------

def _cell_error(msg: str, path: str, line: int, row: list[str], j: int, delimiter: str, hint=None) -> DataError:
    """An error at field j of a row; the row is shown with a caret (exact for unquoted lines)."""
    col = sum(len(f) + len(delimiter) for f in row[:j]) + 1
    shown = "\n" * (int(line) - 1) + delimiter.join(row)  # render() picks line `line` of this text
    return DataError(msg, Pos(path, int(line), col), hint=hint, source=shown)


def _bad_cell(path, rows, lines, names, cols, delimiter):
    """Find the first cell that is not a finite number and describe it."""
    for row, line in zip(rows, lines):
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


def _load_exact(path, target, delimiter, want_target, features) -> Raw:
    """Python's csv module, row by row: slow, and exact about where a problem is."""
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
    cols, tcol = choose_columns(path, header, target, want_target, features)

    lines_arr = np.asarray(lines, np.int64)
    try:
        x = np.array([[row[j] for j in cols] for row in rows], dtype=np.float64)
        ok = np.isfinite(x).all()
    except ValueError:
        ok = False
    if not ok:
        raise _bad_cell(path, rows, lines, header, cols, delimiter)

    y = texts = None
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

    is_text = y is not None and y.dtype.kind == "U"
    return Raw(x=x, y=y, file=path, features=_describe(len(cols)),
               lines=lines_arr, labels=is_text,
               y_text=np.array(texts, dtype=str) if y is not None and not is_text else None)
