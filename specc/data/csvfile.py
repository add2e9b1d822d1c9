"""CSV files: a header row, numeric feature columns, one optional target column.

The target column may hold numbers (regression values or integer class
indices) or labels such as "setosa" (mapped to class indices later, jointly
over every source of the spec). Every problem names the file, the line and
the column. Blank lines are skipped; a UTF-8 byte-order mark is ignored.

Two readers, one behaviour:
  * the fast one is pyarrow's CSV reader (the `data` extra), parsing
    feature columns straight to float32, pieces of the file on two threads,
    each into its rows of one preallocated array (no float64 or whole-table
    copy is ever held);
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
from .threads import in_order, usable_cpus
from .types import Raw

CHUNK_BYTES = 1 << 21  # bytes of the file parsed at a time, by one thread (2 MB: 1 MB made more calls, 1.1x the time)
PARSERS = 2  # threads parsing pieces (no more than the process may use); more would hold more pieces


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

    One pass finds the pieces (about CHUNK_BYTES each, cut after a line end)
    and counts their lines; then PARSERS threads read and parse them, each
    piece straight into its rows of one preallocated float32 array: the peak
    is that array plus a few pieces, not a whole Arrow table next to the
    array. The rows of every piece must equal its lines, so each sample's
    line number is known (a blank line or a quoted line break inside sends
    the file to the exact reader).
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
    pieces, n = _pieces(path)
    if n <= 0:
        return None
    names = [f"c{j}" for j in range(len(header))]
    types = {names[j]: pa.float32() for j in cols}
    if tcol is not None:
        types[names[tcol]] = pa.string()
    options = dict(
        read_options=pcsv.ReadOptions(column_names=names, use_threads=False),  # parallel by pieces
        parse_options=pcsv.ParseOptions(delimiter=delimiter),
        convert_options=pcsv.ConvertOptions(
            column_types=types, include_columns=[names[j] for j in cols] + ([names[tcol]] if tcol is not None else []),
            null_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False))

    x = np.empty((n, len(cols)), np.float32)
    feature_names, target_name = [names[j] for j in cols], names[tcol] if tcol is not None else None

    def parse(offset: int, size: int, start: int, rows: int):
        """One piece into rows start.. of x; its target texts, or None when the exact reader must decide."""
        try:
            with pa.OSFile(path, memory_pool=pool) as f:  # each thread reads its own pieces
                f.seek(offset)
                piece = f.read_buffer(size)
            table = pcsv.read_csv(piece, **options, memory_pool=pool)
        except (pa.ArrowException, UnicodeDecodeError):
            return None
        if table.num_rows != rows:
            return None
        # the piece's columns into rows of a block, then into x in one transposing copy (writing each
        # column into a row-major x touches every row's cache line once per column)
        block = np.empty((len(cols), rows), np.float32)
        for k, name in enumerate(feature_names):
            at = 0
            for chunk in table.column(name).chunks:
                block[k, at:at + len(chunk)] = chunk.to_numpy(zero_copy_only=True)
                at += len(chunk)
        if not np.isfinite(block).all():
            return None
        x[start:start + rows] = block.T
        if target_name is None:
            return ()
        texts = pc.utf8_trim_whitespace(table.column(target_name))  # a copy: the piece can go
        return texts, texts.to_numpy(zero_copy_only=False).astype(str)  # as text here, on this thread

    pool = _memory_pool(pa)
    starts = np.cumsum([0] + [rows for _, _, rows in pieces])
    work = ((offset, size, start, rows) for (offset, size, rows), start in zip(pieces, starts.tolist()))
    targets = []
    # two pyarrow parses of one thread each use two cores better than one parse on two threads
    # (0.59 against 0.85 CPU seconds for the 82 MB file of bench/data_load.py)
    for result in in_order(parse, work, min(PARSERS, usable_cpus())):
        if result is None:
            return None
        targets.append(result)

    y = y_text = None
    is_text = False
    if tcol is not None:
        texts = pa.chunked_array([c for t, _ in targets for c in t.chunks], pa.string())
        if pc.any(pc.equal(pc.utf8_length(texts), 0)).as_py():
            return None
        strings = np.concatenate([s for _, s in targets])
        try:
            y = pc.cast(texts, pa.float64()).to_numpy()
        except pa.ArrowException:
            y, is_text = strings, True
        if not is_text:
            if not np.isfinite(y).all():
                return None
            y_text = strings
    return Raw(x=x, y=y, file=path, features=_describe(len(cols)), lines=np.arange(2, n + 2, dtype=np.int64),
               labels=is_text, y_text=y_text)


def _memory_pool(pa):
    """Arrow's jemalloc pool where pyarrow has one: it gives a piece's memory back before the next
    pieces need theirs (with the default mimalloc pool the peak was 81-83 MB instead of 75-79 MB
    for the 40 MB array of bench/data_load.py, each parsing thread keeping its own)."""
    try:
        return pa.jemalloc_memory_pool()
    except (AttributeError, NotImplementedError):  # a build without jemalloc (Windows)
        return pa.default_memory_pool()


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


def _pieces(path: str) -> tuple[list[tuple[int, int, int]], int]:
    """The lines after the header, in pieces of about CHUNK_BYTES that end after a line end:
    (byte offset, size, records) each; and the number of records (blank lines at the end of the
    file are not records, and the pieces that hold only those are left out)."""
    bounds, lines = [], 0
    with open(path, "rb") as f:
        tail = f.readline()  # the header (and a byte-order mark)
        start = pos = len(tail)
        while block := f.read(CHUNK_BYTES):
            last = block.rfind(b"\n")
            if last >= 0:  # (a line longer than a piece goes on into the next)
                count = block.count(b"\n")
                bounds.append((start, pos + last + 1 - start, count))
                start, lines = pos + last + 1, lines + count
            pos += len(block)
            tail = block[-4096:] if len(block) >= 4096 else (tail + block)[-4096:]
    if pos > start:  # the last line has no line end
        bounds.append((start, pos - start, 1))
        lines += 1
    n = lines - _trailing_blank_lines(tail)
    pieces, done = [], 0
    for offset, size, count in bounds:
        if done < n:
            pieces.append((offset, size, min(count, n - done)))
            done += pieces[-1][2]
    return pieces, n


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
