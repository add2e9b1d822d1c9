"""The VS Code TextMate grammar, run over the example specs (and the README's, a residual, the graph syntax): every token class where expected.

The grammar keeps to a subset of TextMate (`match`, `name`, `captures`, `include`,
`patterns`; all single-line); `tokenize` reads that subset as VS Code does: at each
position the pattern matching earliest wins, ties to the first listed. Any other rule
key fails the test, so the grammar cannot drift outside what is checked here.
"""
from __future__ import annotations

import json
import pathlib
import re

import pytest

from specc.ops import OPS

ROOT = pathlib.Path(__file__).resolve().parents[2]
GRAMMAR = json.loads((ROOT / "editors" / "vscode" / "syntaxes" / "specc.tmLanguage.json").read_text())
EXAMPLES = sorted((ROOT / "examples").glob("*.nn"))
KNOWN_KEYS = {"match", "name", "captures", "include", "patterns", "comment"}


def _flatten(rules):
    """The grammar's top-level rules with includes expanded, in order."""
    out = []
    for rule in rules:
        assert set(rule) <= KNOWN_KEYS, f"rule keys outside the tested subset: {set(rule) - KNOWN_KEYS}"
        if "include" in rule:
            out += _flatten([GRAMMAR["repository"][rule["include"].lstrip("#")]])
        elif "patterns" in rule:
            out += _flatten(rule["patterns"])
        else:
            out.append((re.compile(rule["match"]), rule.get("name"),
                        {int(k): v["name"] for k, v in rule.get("captures", {}).items()}))
    return out


RULES = _flatten(GRAMMAR["patterns"])


def tokenize(line: str) -> list[tuple[str, str]]:
    """(text, scope) for every scoped piece of one line."""
    tokens, pos = [], 0
    while pos < len(line):
        best = None
        for regex, name, captures in RULES:
            m = regex.search(line, pos)
            if m and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                best = (m, name, captures)
        if best is None:
            break
        m, name, captures = best
        if name:
            tokens.append((m.group(), name))
        for group, scope in captures.items():
            if m.group(group):
                tokens.append((m.group(group), scope))
        pos = m.end()
    return tokens


def snippets(page: str) -> str:
    """The spec snippets of a markdown page (its fenced blocks that start a model)."""
    blocks = re.findall(r"```\n(.*?)```", (ROOT / page).read_text(), flags=re.S)
    return "\n".join(b for b in blocks if re.search(r"^(model|block) ", b, flags=re.M))


def scopes_of(path) -> dict[str, set[str]]:
    text = snippets(path) if path.endswith(".md") else (ROOT / path).read_text()
    out: dict[str, set[str]] = {}
    for line in text.split("\n"):
        for text, scope in tokenize(line):
            out.setdefault(scope, set()).add(text)
    return out


EXPECTED = [  # (example, token text, scope)
    ("mnist_cnn.nn", "# mnist_cnn.nn — the lecture's convolutional network for MNIST (Nielsen,",
     "comment.line.number-sign.specc"),
    ("mnist_cnn.nn", "block", "storage.type.block.specc"),
    ("mnist_cnn.nn", "conv_pool", "entity.name.function.block.specc"),
    ("mnist_cnn.nn", "conv_pool", "support.function.layer.specc"),  # a use of the block
    ("mnist_cnn.nn", "model", "storage.type.model.specc"),
    ("mnist_cnn.nn", "mnist_cnn", "entity.name.type.model.specc"),
    ("mnist_cnn.nn", "input", "keyword.other.input.specc"),
    ("mnist_cnn.nn", "image", "variable.other.input.specc"),
    ("mnist_cnn.nn", "conv2d", "support.function.layer.specc"),
    ("mnist_cnn.nn", "relu", "support.function.layer.specc"),
    ("mnist_cnn.nn", "28", "constant.numeric.specc"),
    ("mnist_cnn.nn", "0.00390625", "constant.numeric.specc"),
    ("mnist_cnn.nn", "2e-6", "constant.numeric.specc"),
    ("mnist_cnn.nn", "data", "keyword.other.section.specc"),
    ("mnist_cnn.nn", "train", "keyword.other.section.specc"),
    ("mnist_cnn.nn", "train", "variable.other.property.specc"),  # `train = mnist(...)` in data
    ("mnist_cnn.nn", "optimizer", "variable.other.property.specc"),
    ("mnist_cnn.nn", "=", "keyword.operator.assignment.specc"),
    ("mnist_cnn.nn", "part", "variable.parameter.specc"),
    ("mnist_cnn.nn", "lr", "variable.parameter.specc"),
    ("mnist_cnn.nn", "sgd", "entity.name.function.call.specc"),
    ("mnist_cnn.nn", "mnist", "entity.name.function.call.specc"),
    ("mnist_cnn.nn", '"data/mnist"', "string.quoted.double.specc"),
    ("mnist_cnn.nn", "{", "punctuation.section.block.specc"),
    ("mnist_cnn.nn", "[", "punctuation.section.brackets.specc"),
    ("mnist_cnn.nn", ",", "punctuation.separator.specc"),
    ("digits.nn", "true", "constant.language.boolean.specc"),
    ("README.md", ";", "punctuation.separator.specc"),
    ("tests/frontend/ok/residual.nn", "residual", "keyword.other.residual.specc"),
    ("tests/lsp/graph.nn", "from", "keyword.other.from.specc"),
    ("tests/lsp/graph.nn", "trunk", "variable.other.value.specc"),
    ("tests/lsp/graph.nn", "output", "keyword.other.output.specc"),
    ("tests/lsp/graph.nn", "probs", "variable.other.output.specc"),
    ("tests/lsp/graph.nn", "concat", "support.function.layer.specc"),
    ("tests/lsp/graph.nn", "add", "support.function.layer.specc"),
    ("tests/lsp/graph.nn", "branch", "support.function.layer.specc"),  # a block use is a layer too
]


@pytest.mark.parametrize("example,text,scope", EXPECTED, ids=lambda x: x if isinstance(x, str) and len(x) < 30 else "")
def test_token_has_its_scope(example, text, scope):
    path = example if "/" in example or example.endswith(".md") else f"examples/{example}"
    assert text in scopes_of(path).get(scope, set())


def test_every_scope_of_the_grammar_appears_in_the_examples():
    defined = {n for _, name, caps in RULES for n in [name, *caps.values()] if n}
    corpus = [f"examples/{p.name}" for p in EXAMPLES] + ["README.md", "tests/frontend/ok/residual.nn",
                                                         "tests/lsp/graph.nn"]
    seen = set().union(*(scopes_of(p).keys() for p in corpus))
    assert defined - seen == set()


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_as_a_statement_is_a_layer(op):
    for line in (f"    {op}", f"    {op}(2)  # note", f"    dense(4); {op}"):
        assert (op, "support.function.layer.specc") in tokenize(line), line


def test_comments_and_strings_win_over_what_they_contain():
    assert tokenize('source = csv("a#b.csv")  # dense(3)') == [
        ("source", "variable.other.property.specc"), ("=", "keyword.operator.assignment.specc"),
        ("csv", "entity.name.function.call.specc"), ("(", "punctuation.section.brackets.specc"),
        ('"a#b.csv"', "string.quoted.double.specc"), (")", "punctuation.section.brackets.specc"),
        ("# dense(3)", "comment.line.number-sign.specc")]
