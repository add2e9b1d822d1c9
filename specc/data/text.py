"""Text sources: `text()` for language modelling, `sequences()` for classifying texts.

Both return token ids in a provisional vocabulary of every token of the file
(`Raw.vocab`); once the split is known, `finish_vocab` builds the real one from
the training split alone and renumbers every split into it, so a token only
validation or test text holds becomes `<unk>`, as it would for new text.
"""
from __future__ import annotations

import csv
import io
from collections import Counter

import numpy as np

from ..errors import DataError, did_you_mean
from ..ir import Pos, Program
from ..vocab import PAD_ID, UNK_ID, Vocab, tokenize
from .types import Raw


def read_text(path: str) -> str:
    """The file as UTF-8 text (a byte-order mark dropped); a DataError names the line of a bad byte."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise DataError(f"byte 0x{data[e.start]:02x} is not UTF-8 text", Pos(path, line, column), source="",
                        hint="save the file as UTF-8") from None


def load_text(path: str, level: str, context: int, stride: int) -> Raw:
    """Windows of `context` tokens (x) and the same windows one token later (y), every `stride` tokens."""
    tokens = tokenize(read_text(path), level)
    if len(tokens) < context + 1:
        raise DataError(f"holds {len(tokens)} {level} tokens; one window of context={context} needs "
                        f"{context + 1} (the inputs and the next token)", Pos(path),
                        hint="use a longer text or a smaller context (and model input)")
    provisional = Vocab.build(Counter(tokens), level)
    ids = np.asarray(provisional.encode(tokens), np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(ids, context + 1)[::stride]
    x = np.ascontiguousarray(windows[:, :-1])
    y = np.ascontiguousarray(windows[:, 1:])
    return Raw(x=x, y=y, file=path, features=f"windows of {context} tokens", vocab=provisional,
               token_targets=True)


def load_sequences(path: str, text: str, target: str, level: str, max_len: int, vocab: int) -> Raw:
    """A CSV of texts and labels: token ids [N, max_len] (right-padded with 0, cut after max_len), labels [N]."""
    rows = _read_rows(path)
    header, body = rows[0][1], rows[1:]
    columns = {}
    for role, name in (("text", text), ("target", target)):
        if name not in header:
            raise DataError(f"no {role} column {name!r}; the columns are {', '.join(header)}", Pos(path, rows[0][0], 1),
                            source="", hint=did_you_mean(name, header) or f'name it with sequences(..., {role}="...")')
        columns[role] = header.index(name)
    if not body:
        raise DataError("has a header but no rows", Pos(path, rows[0][0], 1), source="")
    texts, labels, lines = [], [], []
    for line, row in body:
        if len(row) != len(header):
            raise DataError(f"row has {len(row)} fields but the header has {len(header)}", Pos(path, line, 1),
                            source="", hint="quote texts that contain the delimiter: \"a, b\"")
        label = row[columns["target"]].strip()
        if not label:
            raise DataError(f"empty label in column {target!r}", Pos(path, line, 1), source="")
        texts.append(tokenize(row[columns["text"]], level)[:max_len])
        labels.append(label)
        lines.append(line)
    provisional = Vocab.build(Counter(t for tokens in texts for t in tokens), level)
    x = np.full((len(texts), max_len), PAD_ID, np.int64)
    for i, tokens in enumerate(texts):
        x[i, :len(tokens)] = provisional.encode(tokens)
    y = np.array([int(v) for v in labels], np.int64) if all(_is_int(v) for v in labels) else np.array(labels)
    return Raw(x=x, y=y, file=path, features=f"texts of up to {max_len} tokens", labels=True,
               lines=np.array(lines), vocab=provisional, vocab_size=vocab)


def _read_rows(path: str) -> list[tuple[int, list[str]]]:
    """(line, fields) of every non-blank row, the header first."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    rows = []
    try:
        for row in reader:
            if any(field.strip() for field in row):
                rows.append((reader.line_num, row))
    except csv.Error as e:
        raise DataError(f"not a readable CSV file: {e}", Pos(path, reader.line_num, 1), source="") from None
    if not rows:
        raise DataError("is empty; sequences() needs a header row and one row per text", Pos(path), source="")
    return rows


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def finish_vocab(program: Program, raws: dict, xs: dict, ys: dict, train_rows) -> Vocab | None:
    """The vocabulary of the training split; renumbers xs (and ys of `text()`) in place, per role.

    `raws`, `xs`, `ys`: by role, the first role being the one the training split comes
    from; `train_rows`: indices of the training split in it (None: all of it).
    """
    first = next(iter(raws))
    raw = raws[first]
    if raw.vocab is None:
        return None
    rows = slice(None) if train_rows is None else train_rows
    counts = np.bincount(xs[first][rows].ravel(), minlength=len(raw.vocab))
    if raw.token_targets and first in ys:
        counts += np.bincount(ys[first][rows].ravel(), minlength=len(raw.vocab))
    seen = Counter({raw.vocab.tokens[i]: int(c) for i, c in enumerate(counts) if c and i > UNK_ID})
    vocab = Vocab.build(seen, raw.vocab.level, raw.vocab_size)
    for role, r in raws.items():
        renumber = np.array([vocab.id(t) for t in r.vocab.tokens], np.int64)
        renumber[PAD_ID] = PAD_ID
        xs[role] = renumber[xs[role]]
        if r.token_targets and role in ys:
            ys[role] = renumber[ys[role]]
    _check_model_fits(program, vocab, raw)
    return vocab


def _check_model_fits(program: Program, vocab: Vocab, raw: Raw) -> None:
    """An embedding (and a language model's output) must have a row for every token id."""
    model = program.model
    first = model.inputs[0].name
    where = program.data.pos if program.data is not None else model.pos
    for layer in model.layers:
        if layer.op == "embedding" and first in layer.inputs and layer.attrs.get("vocab", len(vocab)) < len(vocab):
            raise DataError(f"{raw.file} gives {len(vocab)} token ids ({len(vocab) - 2} tokens of the training split,"
                            f" <pad> and <unk>) but {layer.name} has vocab {layer.attrs['vocab']}", where,
                            source=program.source_text, hint=f"write embedding({len(vocab)}, ...)")
    out, t = tuple(model.output_shape), model.inputs[0].shape[0]
    if raw.token_targets and (len(out) != 2 or out[0] != t):
        raise DataError(f"text() gives the next token at each of the {t} positions, but the model outputs "
                        f"[{', '.join(map(str, out))}]", where, source=program.source_text,
                        hint=f"a language model scores every position: [{t}, {len(vocab)}], e.g. dense({len(vocab)}); "
                             "softmax on the sequence")
    if raw.token_targets and model.output_shape and model.output_shape[-1] < len(vocab):
        raise DataError(f"{raw.file} gives {len(vocab)} token ids but the model predicts {model.output_shape[-1]}",
                        where, source=program.source_text, hint=f"end the model with dense({len(vocab)}); softmax")
