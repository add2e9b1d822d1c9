"""Checking syntax values against expected types, with positioned errors.

Every check either returns the plain Python value or raises SpecError at the
value's position, phrased as "<what> must be <expected>, got <value>".
"""
from __future__ import annotations

import math

from . import syntax as S
from .errors import SpecError, did_you_mean
from .ops.catalog import REQUIRED


def show(v) -> str:
    """A value as the user wrote it (for messages)."""
    if isinstance(v, S.Lit):
        if isinstance(v.value, bool):
            return "true" if v.value else "false"
        if isinstance(v.value, str):
            return '"' + v.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
        return v.text or repr(v.value)
    if isinstance(v, S.NameV):
        return v.id
    if isinstance(v, S.ListV):
        return "[" + ", ".join(show(i) for i in v.items) + "]"
    if isinstance(v, S.CallV):
        parts = [show(a) for a in v.args] + [f"{k.name}={show(k.value)}" for k in v.kwargs]
        return f"{v.name}(" + ", ".join(parts) + ")"
    if isinstance(v, S.MapV):
        return "{" + ", ".join(f"{k}: {show(x)}" for k, x in v.items) + "}"
    return repr(v)


VALUES = (S.Lit, S.NameV, S.ListV, S.CallV, S.MapV)


def is_value(x) -> bool:
    """True for a syntax value, False for a default filled in from a table."""
    return isinstance(x, VALUES)


def _fail(v, what: str, expected: str, hint=None):
    raise SpecError(f"{what} must be {expected}, got `{show(v)}`", getattr(v, "pos", None), hint)


MAX_INT = 2**31 - 1  # sizes beyond this overflow the backends' index arithmetic


def as_int(v, what: str, lo: int | None = None, hi: int = MAX_INT) -> int:
    if not (isinstance(v, S.Lit) and isinstance(v.value, int) and not isinstance(v.value, bool)):
        if isinstance(v, S.Lit) and isinstance(v.value, float) and v.value.is_integer():
            _fail(v, what, "a whole number", f"write `{int(v.value)}`")
        _fail(v, what, "a whole number")
    if lo is not None and v.value < lo:
        _fail(v, what, f"at least {lo}")
    if v.value > hi:
        _fail(v, what, f"at most {hi:,}")
    return v.value


def as_float(v, what: str, lo=None, hi=None, lo_open=False, hi_open=False) -> float:
    if not (isinstance(v, S.Lit) and isinstance(v.value, (int, float)) and not isinstance(v.value, bool)):
        _fail(v, what, "a number")
    try:
        x = float(v.value)
    except OverflowError:  # an integer literal with hundreds of digits
        x = math.inf
    if not math.isfinite(x):
        _fail(v, what, "a finite number")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        _fail(v, what, f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None and (x > hi or (hi_open and x == hi)):
        _fail(v, what, f"{'<' if hi_open else '<='} {hi:g}")
    return x


def as_bool(v, what: str) -> bool:
    if not (isinstance(v, S.Lit) and isinstance(v.value, bool)):
        _fail(v, what, "`true` or `false`")
    return v.value


def as_str(v, what: str) -> str:
    if not (isinstance(v, S.Lit) and isinstance(v.value, str)):
        hint = f'quote it: "{v.id}"' if isinstance(v, S.NameV) else None
        _fail(v, what, "a string", hint)
    return v.value


def as_name(v, what: str, choices=None) -> str:
    """A bare name such as `relu` or `val_loss` (a quoted string is accepted too)."""
    if isinstance(v, S.Lit) and isinstance(v.value, str):
        name = v.value
    elif isinstance(v, S.NameV):
        name = v.id
    else:
        _fail(v, what, "a name" + (f" ({', '.join(sorted(choices))})" if choices and len(choices) < 8 else ""))
    if choices is not None and name not in choices:
        raise SpecError(f"unknown {what} `{name}`", v.pos, did_you_mean(name, choices) or
                        f"one of: {', '.join(sorted(choices))}")
    return name


def as_pair(v, what: str, lo: int = 1) -> tuple[int, int]:
    """An int, or a list of two ints: `5` or `[5, 3]`."""
    if isinstance(v, S.ListV):
        if len(v.items) != 2:
            _fail(v, what, "a whole number or a list of two")
        return (as_int(v.items[0], what, lo), as_int(v.items[1], what, lo))
    n = as_int(v, what, lo)
    return (n, n)


def as_number_list(v, what: str) -> list[float]:
    if not isinstance(v, S.ListV):
        _fail(v, what, "a list of numbers")
    return [as_float(i, what) for i in v.items]


def plain(v):
    """Any value as plain Python (names become strings, calls stay CallV)."""
    if isinstance(v, S.Lit):
        return v.value
    if isinstance(v, S.NameV):
        return v.id
    if isinstance(v, S.ListV):
        return [plain(i) for i in v.items]
    return v


def call_parts(v, what: str):
    """(name, args, kwargs, pos) of a call or a bare name (a name is a call without arguments)."""
    if isinstance(v, S.CallV):
        return v.name, v.args, v.kwargs, v.pos
    if isinstance(v, S.NameV):
        return v.id, (), (), v.pos
    _fail(v, what, "a name or a call such as `name(arg=value)`")


def bind(name: str, args, kwargs, schema: dict, what: str, pos) -> dict:
    """Match positional and keyword arguments to a schema {arg: default or REQUIRED}.

    Returns {arg: syntax value or default}; raises SpecError for unknown,
    duplicate, surplus or missing arguments.
    """
    names = list(schema)
    if len(args) > len(names):
        raise SpecError(f"{what} `{name}` takes at most {len(names)} positional argument"
                        f"{'s' if len(names) != 1 else ''}, got {len(args)}", args[len(names)].pos)
    bound = dict(zip(names, args))
    for kw in kwargs:
        if kw.name not in schema:
            hint = did_you_mean(kw.name, names) or (f"`{name}` takes: {', '.join(names)}" if names else f"`{name}` takes no arguments")
            raise SpecError(f"unknown argument `{kw.name}` for {what} `{name}`", kw.pos, hint)
        if kw.name in bound:
            raise SpecError(f"argument `{kw.name}` of `{name}` given twice", kw.pos)
        bound[kw.name] = kw.value
    for arg, default in schema.items():
        if arg not in bound:
            if default is REQUIRED:
                raise SpecError(f"{what} `{name}` needs `{arg}`", pos, f"write `{name}({arg}=...)`")
            bound[arg] = default
    return bound
