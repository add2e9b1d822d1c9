"""Text -> syntax tree. The only module that parses with Lark.

The grammar ships inside the package (specc/grammar/specc.lark) with its LALR
tables pre-built (specc/parsetables.py); the parser is made once by a cached
factory. Lark's exceptions are turned into SpecError with the position, the
offending line and what was expected, in words a user reads.
"""
from __future__ import annotations

import functools

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import parsetables
from . import syntax as S
from .errors import SpecError
from .ir import Pos

# How terminals are named in "expected ..." messages.
_TERMINAL_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "_NL": "a new line",
    "LBRACE": "`{`", "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "COLON": "`:`", "EQUAL": "`=`", "SEMICOLON": "`;`", "DOT": "`.`", "$END": "the end of the file",
}
_KEYWORDS = ("model", "block", "data", "train", "input", "residual", "from", "output", "true", "false")


class _BracketNewlines:
    """Post-lexer: newlines inside (...), [...] and a `{ }` map value are not statement separators.

    A `{` opens a map when it stands where a value goes (after `=`, `:`, `,`, `(`
    or `[`); otherwise it opens a block, whose newlines separate statements.
    """

    always_accept = ("_NL",)
    _VALUE_BEFORE = ("EQUAL", "COLON", "COMMA", "LPAR", "LSQB")

    def process(self, stream):
        stack: list[bool] = []  # per open bracket: are newlines inside it ignored?
        previous = None
        for tok in stream:
            if tok.type in ("LPAR", "LSQB"):
                stack.append(True)
            elif tok.type == "LBRACE":
                stack.append(previous in self._VALUE_BEFORE)
            elif tok.type in ("RPAR", "RSQB", "RBRACE"):
                if stack:
                    stack.pop()
            elif tok.type == "_NL" and stack and stack[-1]:
                continue
            previous = tok.type
            yield tok


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    """The shipped LALR tables when they match the grammar, else the parser built from it."""
    return parsetables.load(_BracketNewlines()) or parsetables.build(_BracketNewlines())


def _describe(expected) -> str:
    if {"NUMBER", "STRING", "NAME"} <= set(expected):
        return "a value (number, string, name, list or call)"
    words = []
    for name in sorted(expected):
        if name.lower() in _KEYWORDS and name.isupper():
            words.append(f"`{name.lower()}`")
        else:
            words.append(_TERMINAL_WORDS.get(name, f"`{name}`"))
    words = sorted(set(words))
    if len(words) > 6:
        words = words[:6] + ["..."]
    return ", ".join(words)


_CLOSERS = {"{": "}", "(": ")", "[": "]"}


def _open_bracket(text: str, opener: str, until: tuple[int, int] | None = None):
    """(line, column) of the innermost `opener` still open before `until` (or the end), else None."""
    stack = []
    for lineno, line in enumerate(text.split("\n"), 1):
        in_string = False
        for col, ch in enumerate(line, 1):
            if until and (lineno, col) >= until:
                return stack[-1] if stack else None
            if ch == '"' and (col == 1 or line[col - 2] != "\\"):
                in_string = not in_string
            elif in_string:
                continue
            elif ch == "#":
                break
            elif ch == opener:
                stack.append((lineno, col))
            elif ch == _CLOSERS[opener] and stack:
                stack.pop()
    return stack[-1] if stack else None


def _unclosed_brace(text: str) -> str:
    """Where the innermost `{` still open at the end of the file was opened."""
    where = _open_bracket(text, "{")
    return f"the `{{` at line {where[0]}, column {where[1]} is not closed" if where else "a `{` block is not closed"


def _token_text(tok: Token) -> str:
    if tok.type == "$END":
        return "the end of the file"
    if tok.type == "_NL":
        return "a new line"
    return f"`{tok}`"


def _syntax_error(e: UnexpectedInput, path: str, text: str) -> SpecError:
    line = getattr(e, "line", 0) or 0
    column = getattr(e, "column", 0) or 0
    if isinstance(e, UnexpectedCharacters):
        char = text[e.pos_in_stream] if 0 <= e.pos_in_stream < len(text) else ""
        if char == '"':
            return SpecError("unterminated string", Pos(path, line, column), "close it with `\"` on the same line", text)
        shown = repr(char) if not char.isprintable() or char.isspace() else f"`{char}`"
        return SpecError(f"unexpected character {shown}", Pos(path, line, column), None, text)
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        if not line:
            lines = text.splitlines() or [""]
            line, column = len(lines), len(lines[-1]) + 1
        expected = getattr(e, "expected", None) or getattr(e, "accepts", None) or ()
        hint = _unclosed_brace(text) if "RBRACE" in expected else None
        return SpecError(f"unexpected end of file; expected {_describe(expected)}", Pos(path, line, column), hint, text)
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    expected = e.accepts or e.expected
    hint = None
    ends_statement = "_NL" in expected or "SEMICOLON" in expected
    for opener, closer in (("(", "RPAR"), ("[", "RSQB")):
        where = _open_bracket(text, opener, (tok.line, tok.column)) if closer in expected else None
        if where and where[0] < tok.line:  # the bracket was left open on an earlier line
            hint = f"the `{opener}` at line {where[0]}, column {where[1]} is not closed"
    if hint:
        pass
    elif path == "--set":
        hint = "write --set data.KEY=VALUE or train.KEY=VALUE, e.g. --set train.epochs=5"
    elif tok.type == "RBRACE" and "RPAR" in expected:
        hint = "a `(` is not closed"
    elif tok.type == "RBRACE" and "RSQB" in expected:
        hint = "a `[` is not closed"
    elif tok.type in ("NUMBER", "STRING", "LSQB") and ends_statement:
        hint = "arguments go in parentheses, e.g. `dense(100)`"
    elif tok.type == "NAME" and ends_statement:
        hint = "one statement per line, or separate statements with `;`"
    elif set(expected) == {"EQUAL"}:
        hint = "keys take a value: `key = value`"
    elif tok.type == "EQUAL" and "NAME" in expected:
        hint = "keyword arguments go inside a call: `op(name=value)`"
    elif tok.type == "_NL" and "RBRACE" in expected:
        hint = None
    elif "RPAR" in expected and tok.type in ("NAME", "NUMBER", "STRING"):
        hint = "separate arguments with `,`"
    elif tok.type == "LBRACE":
        hint = "`{` opens `model NAME {`, `block NAME(...) {`, `data {`, `train {` or `residual {`"
    return SpecError(f"unexpected {_token_text(tok)}; expected {_describe(expected)}",
                     Pos(path, tok.line or line, tok.column or column), hint, text)


def _pos(path, meta_or_tok) -> Pos:
    return Pos(path, getattr(meta_or_tok, "line", 0) or 0, getattr(meta_or_tok, "column", 0) or 0)


@v_args(meta=True)
class _ToSyntax(Transformer):
    """One short method per rule; every node keeps its position."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def _p(self, x):
        return _pos(self.path, x)

    # values
    def number(self, meta, c):
        tok = c[0]
        text = str(tok)
        is_int = not any(ch in text for ch in ".eE")
        try:
            value = int(text) if is_int else float(text)
        except (ValueError, OverflowError):
            raise SpecError(f"number `{text}` is out of range", self._p(tok))
        if not is_int and value in (float("inf"), float("-inf")):
            raise SpecError(f"number `{text}` is out of range", self._p(tok))
        return S.Lit(value, self._p(tok), text)

    def string(self, meta, c):
        tok = c[0]
        body = str(tok)[1:-1]
        out, i = [], 0
        escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body):
                nxt = body[i + 1]
                if nxt not in escapes:
                    raise SpecError(f"unknown escape `\\{nxt}` in string", Pos(self.path, tok.line, tok.column + i + 1),
                                    "use `\\\\` for a backslash, or `/` in paths")
                out.append(escapes[nxt])
                i += 2
                continue
            out.append(ch)
            i += 1
        return S.Lit("".join(out), self._p(tok))

    def true(self, meta, c):
        return S.Lit(True, self._p(meta), "true")

    def false(self, meta, c):
        return S.Lit(False, self._p(meta), "false")

    def word(self, meta, c):
        return c[0]

    def name(self, meta, c):
        tok = c[0]
        return S.NameV(str(tok), self._p(tok))

    def list(self, meta, c):
        return S.ListV(tuple(x for x in c if x is not None), self._p(meta))

    def map(self, meta, c):
        items = tuple(x for x in c if x is not None)
        seen = set()
        for key, _value, pos in items:
            if key in seen:
                raise SpecError(f"key `{key}` appears twice in the map", pos)
            seen.add(key)
        return S.MapV(tuple((k, v) for k, v, _p in items), self._p(meta))

    def map_item(self, meta, c):
        return (str(c[0]), c[1], self._p(c[0]))

    def kwarg(self, meta, c):
        return S.KwArg(str(c[0]), c[1], self._p(c[0]))

    def call_args(self, meta, c):
        args, kwargs, seen = [], [], set()
        for a in c:
            if a is None:
                continue
            if isinstance(a, S.KwArg):
                if a.name in seen:
                    raise SpecError(f"argument `{a.name}` given twice", a.pos)
                seen.add(a.name)
                kwargs.append(a)
            elif kwargs:
                raise SpecError("positional argument after a keyword argument", a.pos,
                                "put positional arguments first: `op(1, 2, name=value)`")
            else:
                args.append(a)
        return (tuple(args), tuple(kwargs))

    def call(self, meta, c):
        tok, (args, kwargs) = c
        return S.CallV(str(tok), args, kwargs, self._p(tok))

    # statements
    def input_stmt(self, meta, c):
        name, shape, dtype = c
        return S.InputDecl(str(name) if name is not None else None, shape, self._p(meta),
                           str(dtype) if dtype is not None else None)

    def from_stmt(self, meta, c):
        tok = c[0]
        name = str(tok)[1:-1] if getattr(tok, "type", "") == "STRING" else str(tok)  # "use.name": block-local
        return S.FromStmt(name, self._p(meta))

    def output_stmt(self, meta, c):
        return S.OutputStmt(str(c[0]) if c[0] is not None else None, self._p(meta))

    def layer(self, meta, c):
        tok, call = c
        args, kwargs = call if call is not None else ((), ())
        return S.LayerUse(str(tok), args, kwargs, self._p(tok), has_parens=call is not None)

    def body(self, meta, c):
        return tuple(c)

    def residual(self, meta, c):
        return S.Residual(c[0], self._p(meta), getattr(meta, "end_line", 0))

    def model(self, meta, c):
        return S.ModelDecl(str(c[0]), c[1], self._p(meta), getattr(meta, "end_line", 0))

    def block_param(self, meta, c):
        return S.BlockParam(str(c[0]), c[1], self._p(c[0]))

    def block_params(self, meta, c):
        return tuple(x for x in c if x is not None)

    def block_def(self, meta, c):
        name, params, body = c
        return S.BlockDecl(str(name), params or (), body, self._p(meta), getattr(meta, "end_line", 0))

    def key(self, meta, c):
        return c[0]

    def section(self, meta, c):
        return c[0]

    def key_path(self, meta, c):
        return (str(c[0]), c[1])

    def assign(self, meta, c):
        tok, value = c
        return S.Assign(str(tok), value, self._p(tok))

    def assigns(self, meta, c):
        return tuple(c)

    def data_section(self, meta, c):
        return S.Section("data", c[0], self._p(meta), getattr(meta, "end_line", 0))

    def train_section(self, meta, c):
        return S.Section("train", c[0], self._p(meta), getattr(meta, "end_line", 0))

    def start(self, meta, c):
        return tuple(c)

    def override(self, meta, c):
        (section, key_tok), value = c
        return S.Override(str(section), str(key_tok), value, self._p(key_tok))


def _parse(text: str, path: str, start: str):
    comments: list[S.Comment] = []
    try:
        tree = _parser().parse(text, start=start)
    except UnexpectedInput as e:
        raise _syntax_error(e, path, text) from None
    except RecursionError:
        raise SpecError("the spec is nested too deeply to parse", Pos(path, 1, 1), None, text) from None
    try:
        return _ToSyntax(path).transform(tree), comments
    except VisitError as e:  # Lark wraps errors raised inside the transformer
        if isinstance(e.orig_exc, SpecError):
            err = e.orig_exc
            err.source = text
            raise err from None
        raise
    except RecursionError:
        raise SpecError("the spec is nested too deeply to parse", Pos(path, 1, 1), None, text) from None


def _comments(text: str) -> tuple[S.Comment, ...]:
    """Comments with their positions, for the formatter (the grammar ignores them)."""
    out = []
    for lineno, line in enumerate(text.split("\n"), 1):  # Lark counts lines by "\n" only
        line = line.rstrip("\r")
        in_string = False
        for col, ch in enumerate(line):
            if ch == '"' and (col == 0 or line[col - 1] != "\\"):
                in_string = not in_string
            elif ch == "#" and not in_string:
                out.append(S.Comment(line[col:].rstrip(), lineno, col + 1))
                break
    return tuple(out)


def parse(text: str, path: str = "<string>") -> S.SpecFile:
    """Parse a whole `.nn` file into a syntax tree (raises SpecError)."""
    # A BOM inside the text is whitespace to the grammar (WS), so columns stay as in the text.
    items, _ = _parse(text, path, "start")
    return S.SpecFile(tuple(items), path, text, _comments(text))


def parse_override(text: str, index: int = 1, all_text: str | None = None) -> S.Override:
    """Parse `section.key=value` from the index-th `--set` with the same grammar.

    Positions use file "--set" and line `index`, so errors show that override
    (all_text: every override, one per line, used as the error's source).
    """
    source = all_text if all_text is not None else text
    if "\n" in text:
        raise SpecError("--set takes one line", Pos("--set", index, 1), None, source)
    if "=" not in text:
        raise SpecError(f"--set expects section.key=value, got `{text}`", Pos("--set", index, 1), None, source)
    try:
        item, _ = _parse("\n" * (index - 1) + text, "--set", "override")
    except SpecError as e:
        e.source = source
        raise
    return item


def decode(data: bytes, path: str) -> str:
    """Bytes of a spec file as text, with a positioned error for invalid UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1
        shown = data.decode("utf-8", errors="replace")  # for the source line and caret
        raise SpecError(f"the file is not valid UTF-8 (byte 0x{data[e.start]:02x})", Pos(path, line, column),
                        "save the file as UTF-8", shown) from None
