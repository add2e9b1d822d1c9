"""Diagnostics: one error type that knows its file, line and column.

Every user-facing failure (a bad spec, a bad data file, a bad flag) is a
SpecError or a SpecErrors bundle; the CLI prints them and exits with code 2.
Nothing here imports anything beyond the standard library.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .ir import Pos


@dataclass
class SpecError(Exception):
    """A user error at a source position.

    `message` says what is wrong; `hint` what to do (e.g. "did you mean `relu`?").
    `source` is the text of the file, used to show the offending line with a caret.
    """

    message: str
    pos: Pos | None = None
    hint: str | None = None
    source: str | None = field(default=None, repr=False)
    severity: str = "error"  # or "warning": printed, but the spec still compiles

    def __post_init__(self):
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        sev = self.severity
        head = f"{self.pos}: {sev}: {self.message}" if self.pos and self.pos.line else (
            f"{self.pos.file}: {sev}: {self.message}" if self.pos else f"{sev}: {self.message}")
        lines = [head]
        if self.pos and self.pos.line and self.source is not None:
            src_lines = [l.rstrip("\r") for l in self.source.split("\n")]  # lines as Lark counts them
            if 0 < self.pos.line <= len(src_lines):
                text = printable(src_lines[self.pos.line - 1])
                if len(text) > 200:  # keep huge lines readable: a window around the column
                    start = max(0, self.pos.column - 100)
                    text = text[start:start + 200]
                    col = self.pos.column - start
                else:
                    col = self.pos.column
                gutter = f"{self.pos.line:>5} | "
                lines.append(gutter + text)
                lines.append(" " * (len(gutter) + max(col - 1, 0)) + "^")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class SpecErrors(Exception):
    """Several independent errors of one file, reported together."""

    def __init__(self, errors: list[SpecError]):
        self.errors = sorted(errors, key=lambda e: (e.pos.line, e.pos.column) if e.pos else (0, 0))
        super().__init__("\n".join(e.render() for e in self.errors))

    def render(self) -> str:
        n = len(self.errors)
        tail = f"{n} error{'s' if n != 1 else ''}"
        return "\n".join(e.render() for e in self.errors) + f"\n{tail}"


class DataError(SpecError):
    """A bad data file: the position names the file and, where known, the row."""


def printable(line: str) -> str:
    """A source line safe to print: tabs become spaces, other control characters U+FFFD.

    One character for one, so the caret under the line stays aligned.
    """
    return "".join(" " if ch == "\t" else ch if ch.isprintable() else "\ufffd" for ch in line)


# What Keras and PyTorch users write for specc's names (checked before spelling distance).
ALIASES = {
    "kaiming_normal": "he_normal", "kaiming_uniform": "he_uniform",
    "xavier_normal": "glorot_normal", "xavier_uniform": "glorot_uniform",
    "linear": "dense", "fully_connected": "dense", "conv2D": "conv2d", "conv": "conv2d",
    "max_pool": "maxpool", "maxpool2d": "maxpool", "avg_pool": "avgpool", "avgpool2d": "avgpool",
    "maxpool1d": "maxpool", "avgpool1d": "avgpool", "maxpooling1d": "maxpool",
    "averagepooling1d": "avgpool", "simplernn": "rnn", "elman": "rnn",
    "batch_norm": "batchnorm", "batchnormalization": "batchnorm", "batchnorm2d": "batchnorm",
    "batchnorm1d": "batchnorm", "leakyrelu": "leaky_relu", "logsoftmax": "log_softmax",
    "crossentropy": "cross_entropy", "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy", "binary_crossentropy": "bce",
    "mean_squared_error": "mse", "mean_absolute_error": "mae",
}


def did_you_mean(word: str, known) -> str | None:
    """The closest known name, phrased as a hint, or None if nothing is close.

    Known aliases (`kaiming_normal` for `he_normal`) and a different case (`Dense`)
    are recognized before spelling distance.
    """
    known = sorted(known)
    lowered = {k.lower(): k for k in known}
    for candidate in (word, word.lower(), word.lower().replace("-", "_")):
        target = ALIASES.get(candidate) or ALIASES.get(candidate.replace("_", ""))
        if target in known:
            return f"did you mean `{target}`? (`{word}` is called `{target}` in specc)"
        if candidate in lowered and lowered[candidate] != word:
            return f"did you mean `{lowered[candidate]}`?"
    match = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"did you mean `{match[0]}`?" if match else None


class Collector:
    """Collects independent errors so a file reports all of them at once."""

    def __init__(self, source: str | None = None):
        self.source = source
        self.errors: list[SpecError] = []
        self.warnings: list[SpecError] = []

    def add(self, message: str, pos: Pos | None = None, hint: str | None = None) -> None:
        self.errors.append(SpecError(message, pos, hint, self.source))

    def warn(self, message: str, pos: Pos | None = None, hint: str | None = None) -> None:
        self.warnings.append(SpecError(message, pos, hint, self.source, "warning"))

    def extend(self, errors) -> None:
        for e in errors:
            if e.source is None:
                e.source = self.source
            # A kept error keeps no frames: they would hold the whole check in a reference
            # cycle until the cycle collector runs (the language server checks on every keystroke).
            e.__traceback__ = None
            self.errors.append(e)

    def raise_if_any(self) -> None:
        """Raise all errors, each once (a block used twice reports its error once)."""
        if self.errors:
            unique = {(e.pos, e.message): e for e in self.errors}
            raise SpecErrors(list(unique.values()))
