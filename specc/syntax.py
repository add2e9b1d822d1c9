"""The syntax tree: what the parser produces, before any pass runs.

It mirrors the source closely (blocks unexpanded, arguments as written) so the
formatter can print a file back without losing its structure, and every node
keeps its position for diagnostics.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Pos

_POS = field(default=Pos(), compare=False)


# ---- values -------------------------------------------------------------

@dataclass(frozen=True)
class Lit:
    """A number, string or boolean. `text` is the number as written (for fmt)."""

    value: object
    pos: Pos = _POS
    text: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NameV:
    id: str
    pos: Pos = _POS


@dataclass(frozen=True)
class ListV:
    items: tuple
    pos: Pos = _POS


@dataclass(frozen=True)
class KwArg:
    name: str
    value: object
    pos: Pos = _POS


@dataclass(frozen=True)
class CallV:
    name: str
    args: tuple = ()
    kwargs: tuple[KwArg, ...] = ()
    pos: Pos = _POS


@dataclass(frozen=True)
class MapV:
    """`{key: value, ...}`, e.g. one loss per model output. Items keep their order."""

    items: tuple  # ((key, value), ...)
    pos: Pos = _POS


Value = Lit | NameV | ListV | CallV | MapV


# ---- statements ---------------------------------------------------------

@dataclass(frozen=True)
class InputDecl:
    name: str | None
    shape: ListV
    pos: Pos = _POS
    dtype: str | None = None  # "int" for token ids; None (float) when not written


@dataclass(frozen=True)
class FromStmt:
    """`from NAME`: make an earlier value the current one again (a branch)."""

    name: str
    pos: Pos = _POS


@dataclass(frozen=True)
class OutputStmt:
    """`output NAME`: mark the current value as a model output called NAME."""

    name: str | None
    pos: Pos = _POS


@dataclass(frozen=True)
class LayerUse:
    """`op`, `op(args)` or a block use; `has_parens` only matters to fmt."""

    op: str
    args: tuple = ()
    kwargs: tuple[KwArg, ...] = ()
    pos: Pos = _POS
    has_parens: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Residual:
    body: tuple
    pos: Pos = _POS
    end_line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class ModelDecl:
    name: str
    body: tuple  # InputDecl | LayerUse | Residual | FromStmt | OutputStmt
    pos: Pos = _POS
    end_line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BlockParam:
    name: str
    default: object = None  # a Value or None
    pos: Pos = _POS


@dataclass(frozen=True)
class BlockDecl:
    name: str
    params: tuple[BlockParam, ...]
    body: tuple
    pos: Pos = _POS
    end_line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Assign:
    key: str
    value: object
    pos: Pos = _POS


@dataclass(frozen=True)
class Section:
    kind: str  # "data" | "train"
    assigns: tuple[Assign, ...]
    pos: Pos = _POS
    end_line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Override:
    """`--set section.key=value` from the command line."""

    section: str
    key: str
    value: object
    pos: Pos = _POS


@dataclass(frozen=True)
class Comment:
    text: str
    line: int
    column: int


@dataclass(frozen=True)
class SpecFile:
    items: tuple  # ModelDecl | BlockDecl | Section, in source order
    path: str = "<spec>"
    text: str = field(default="", repr=False, compare=False)
    comments: tuple[Comment, ...] = field(default=(), compare=False)

    @property
    def models(self):
        return [i for i in self.items if isinstance(i, ModelDecl)]

    @property
    def blocks(self):
        return [i for i in self.items if isinstance(i, BlockDecl)]

    def sections(self, kind: str):
        return [i for i in self.items if isinstance(i, Section) and i.kind == kind]
