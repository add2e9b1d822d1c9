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


def umask_mode(mode: int = 0o666) -> int:
    """`mode` as the umask lets a new file have it (temp files start as 0600; results should not)."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def output_file(path, what: str = "output", make_dirs: bool = False) -> str:
    """`path` (with `~` expanded) if a file can be written there; a clear SpecError if it cannot.

    Refused: an existing directory, a parent that is missing (unless `make_dirs`) or a file.
    """
    path = os.path.expanduser(os.fspath(path))
    where = Pos(file=path)
    if os.path.isdir(path):
        raise SpecError(f"{what} {path} is a directory; give a file name", where)
    parent = os.path.dirname(os.path.abspath(path))
    probe = parent
    while not os.path.exists(probe):  # the nearest existing ancestor must be a directory
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise SpecError(f"cannot write {what} {path}: {probe} is {kind_of(os.stat(probe).st_mode)}, not a directory",
                        where)
    if probe != parent:
        if not make_dirs:
            raise SpecError(f"cannot write {what} {path}: the directory {parent} does not exist", where,
                            hint="create it first, or choose another path")
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as e:
            raise SpecError(f"cannot create {parent}: {e.strerror or e}", where) from None
    return path
