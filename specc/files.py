"""Only regular files are read.

A FIFO given as a data file blocks a reader forever, `/dev/zero` never ends,
and a directory or a socket fails deep inside a library with a confusing
message. Every path specc reads (spec, data, checkpoint, weights, manifest,
model) goes through `regular_file` first, which says what the path really is.
Standard library only: `check`/`summary` use it too.
"""
from __future__ import annotations

import os
import stat

from .errors import DataError, SpecError
from .ir import Pos

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a stat mode describes, in words ("a FIFO (named pipe)", "a regular file", ...)."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def regular_file(path, what: str = "file", error=SpecError) -> str:
    """`path` (with `~` expanded) if it is a regular file (symlinks followed), else a clear `error`.

    `what` names the role in the message: "data file", "checkpoint", "spec".
    """
    path = os.path.expanduser(os.fspath(path))
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{what} not found: {path}", Pos(file=path)) from None
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror or e}", Pos(file=path)) from None
    if not stat.S_ISREG(mode):
        raise error(f"{path} is {kind_of(mode)}, not a regular file; a {what} must be a regular file",
                    Pos(file=path))
    return path


def regular_data_file(path, what: str = "data file") -> str:
    """`regular_file` raising DataError (for data inputs)."""
    return regular_file(path, what, DataError)
