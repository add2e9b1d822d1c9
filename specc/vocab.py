"""Tokens and the vocabulary of a text model: text <-> token ids, and its JSON form.

One module for the data sources (`text()`, `sequences()`), the run directory
(`vocab.json`), the ONNX metadata and `specc generate`, so they can never
disagree on how text becomes ids. Standard library only: `specc check` and
`specc generate --backend onnx` import it without NumPy's data stack.

Layout of every vocabulary: id 0 is `<pad>` (padding, what `embedding(pad=0)`
masks), id 1 is `<unk>` (a token the training split never showed), then the
tokens, most frequent first (ties in character order).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
LEVELS = ("char", "word")

# A word: letters/digits (with inner apostrophes: don't, o'er), or one punctuation mark.
_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def tokenize(text: str, level: str) -> list[str]:
    """Tokens of a text: every character (`char`), or lowercased words and punctuation marks (`word`)."""
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD.findall(text.lower())
    raise ValueError(f"unknown token level {level!r}")


@dataclass(frozen=True)
class Vocab:
    """The tokens by id (`tokens[0]` is `<pad>`, `tokens[1]` is `<unk>`) and how text was cut."""

    tokens: tuple[str, ...]
    level: str

    def __post_init__(self):
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(self.tokens)})

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def build(cls, counts: Counter, level: str, max_size: int | None = None) -> "Vocab":
        """`<pad>`, `<unk>`, then the counted tokens, most frequent first, at most `max_size` in all."""
        ranked = sorted((t for t in counts if t not in (PAD, UNK)), key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[:max(max_size - 2, 0)]
        return cls((PAD, UNK, *ranked), level)

    def id(self, token: str) -> int:
        return self._ids.get(token, UNK_ID)

    def encode(self, tokens) -> list[int]:
        """Ids of tokens; unknown ones become `<unk>`."""
        return [self._ids.get(t, UNK_ID) for t in tokens]

    def unknown(self, tokens) -> list[str]:
        """The tokens this vocabulary does not hold, in order of first appearance."""
        return list(dict.fromkeys(t for t in tokens if t not in self._ids))

    def decode(self, ids) -> str:
        """Text of ids: characters joined as they are, words with spaces; `<pad>` is dropped."""
        tokens = [self.tokens[int(i)] for i in ids if int(i) != PAD_ID]
        return "".join(tokens) if self.level == "char" else " ".join(tokens)

    # ---- JSON (vocab.json in the run directory, `vocab` in the ONNX metadata) ----

    def to_json(self) -> str:
        return json.dumps({"level": self.level, "pad": PAD_ID, "unk": UNK_ID, "tokens": list(self.tokens)})

    @classmethod
    def from_json(cls, text: str) -> "Vocab":
        """A vocabulary read back; ValueError says what is wrong with the text."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("it holds no JSON object")
        tokens, level = data.get("tokens"), data.get("level")
        if level not in LEVELS:
            raise ValueError(f"`level` is {level!r}, not one of {', '.join(LEVELS)}")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError("`tokens` is not a list of strings")
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"the tokens must start with {PAD}, {UNK}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("a token appears twice")
        return cls(tuple(tokens), level)
