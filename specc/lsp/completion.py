"""Completion: layers and blocks with their arguments as snippets, argument names, and the keys
and values of `data` and `train`.

Where the cursor is (which `{ }` section, which call's parentheses) is read from the text
before it, since the text being typed usually does not parse yet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lsprotocol import types as T

from .analysis import Analysis, OpDoc, call_args, key_values, layer_arg_values, op_docs, section_keys

_HEADER = re.compile(r"\b(model|block|data|train|residual)\b[^{]*$")
_CALLEE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")
_KWARG_VALUE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*[A-Za-z_0-9]*$")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")
_WORD_ONLY = re.compile(r"^\s*[A-Za-z_0-9]*$")

TOP_LEVEL = [
    ("model", "model ${1:name} {\n    input [${2:features}]\n    $0\n}", "the network"),
    ("block", "block ${1:name}(${2:n}) {\n    $0\n}", "a reusable group of layers"),
    ("data", "data {\n    source = $0\n}", "where the examples come from"),
    ("train", "train {\n    loss = ${1:cross_entropy}\n    optimizer = ${2:adam(lr=1e-3)}\n    $0\n}",
     "loss, optimizer, schedule, epochs"),
]

BODY = [
    ("residual", "residual {\n    $0\n}", "y = x + f(x)"),
    ("from", "from ${1:value}", "continue from an earlier value (a branch)"),
    ("output", "output ${1:name}", "mark the current value as a model output"),
]


@dataclass
class Context:
    section: str | None  # model | block | residual | data | train | None (top level)
    callee: str | None  # the call whose parentheses hold the cursor
    statement: str  # the statement's text before the cursor
    fragment: str  # the call argument's text before the cursor (inside parentheses)


def context(lines: list[str], line: int, column: int) -> Context:
    """Scan the text before the cursor: open braces, open parentheses, the statement's start."""
    text = "\n".join(lines[:line] + [lines[line][:column] if line < len(lines) else ""])
    braces: list[str | None] = []
    parens: list[tuple[str | None, int]] = []
    stmt_start = 0
    in_string = comment = False
    for i, ch in enumerate(text):
        if comment:
            if ch == "\n":
                comment = False
                if not parens:
                    stmt_start = i + 1
            continue
        if in_string:
            in_string = not (ch == '"' and text[i - 1] != "\\")
            continue
        if ch == '"':
            in_string = True
        elif ch == "#":
            comment = True
        elif ch == "{" and (parens or text[stmt_start:i].rstrip().endswith("=")):
            parens.append((None, i + 1))  # a map value: `loss = {digit: cross_entropy}`
        elif ch == "{":
            head = _HEADER.search(text[text.rfind("\n", 0, i) + 1:i])
            braces.append(head.group(1) if head else None)
            parens, stmt_start = [], i + 1
        elif ch == "}" and parens:
            parens.pop()
        elif ch == "}":
            if braces:
                braces.pop()
            parens, stmt_start = [], i + 1
        elif ch in "([":
            callee = _CALLEE.search(text[max(stmt_start, i - 80):i]) if ch == "(" else None
            parens.append((callee.group(1) if callee else None, i + 1))
        elif ch in ")]":
            if parens:
                parens.pop()
        elif ch in ";\n" and not parens:
            stmt_start = i + 1
    callee, fragment = None, ""
    if parens:
        callee, start = parens[-1]
        fragment = re.split(r"[,({:]", text[start:])[-1]
    return Context(braces[-1] if braces else None, callee, text[stmt_start:], fragment)


def _item(doc: OpDoc, kind: T.CompletionItemKind) -> T.CompletionItem:
    return T.CompletionItem(doc.name, kind=kind, detail=doc.signature, documentation=doc.doc or None,
                            insert_text=doc.snippet, insert_text_format=T.InsertTextFormat.Snippet)


def _plain(label: str, kind: T.CompletionItemKind, detail: str | None = None) -> T.CompletionItem:
    return T.CompletionItem(label, kind=kind, detail=detail)


def _in_call(analysis: Analysis, ctx: Context) -> list[T.CompletionItem]:
    key = _KEY_VALUE.match(ctx.statement)
    value = _KWARG_VALUE.search(ctx.fragment)
    if value:  # `op(arg=|`
        if ctx.section in ("model", "block", "residual"):
            return [_plain(v, T.CompletionItemKind.Value) for v in layer_arg_values(ctx.callee, value.group(1))]
        return []
    if ctx.section in ("data", "train") and ctx.callee is None and key:  # inside a list: `metrics = [|`
        return [_item(d, T.CompletionItemKind.EnumMember) for d in key_values(ctx.section, key.group(1))]
    args = call_args(ctx.section, key.group(1) if key else None, ctx.callee, analysis)
    return [T.CompletionItem(f"{a}=", kind=T.CompletionItemKind.Field, detail=f"default {d}" if d else "required",
                             insert_text=f"{a}=") for a, d in args]


def completions(analysis: Analysis, line: int, column: int) -> list[T.CompletionItem]:
    ctx = context(analysis.lines, line, column)
    if ctx.callee is not None or ctx.fragment:
        return _in_call(analysis, ctx)
    if ctx.section is None:
        return [T.CompletionItem(label, kind=T.CompletionItemKind.Keyword, detail=detail, insert_text=snippet,
                                 insert_text_format=T.InsertTextFormat.Snippet) for label, snippet, detail in TOP_LEVEL]
    if ctx.section in ("model", "block", "residual"):
        if not _WORD_ONLY.match(ctx.statement):
            return []
        items = [_item(d, T.CompletionItemKind.Function) for d in op_docs()]
        items += [_item(d, T.CompletionItemKind.Module) for d in analysis.blocks.values()]
        items += [T.CompletionItem(label, kind=T.CompletionItemKind.Keyword, detail=detail, insert_text=snippet,
                                   insert_text_format=T.InsertTextFormat.Snippet) for label, snippet, detail in BODY]
        return items
    key = _KEY_VALUE.match(ctx.statement)
    if key:
        return [_item(d, T.CompletionItemKind.EnumMember) for d in key_values(ctx.section, key.group(1))]
    if _WORD_ONLY.match(ctx.statement):
        return [T.CompletionItem(k, kind=T.CompletionItemKind.Property, insert_text=f"{k} = ")
                for k in section_keys(ctx.section)]
    return []
