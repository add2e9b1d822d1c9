"""Text sources: tokens, the vocabulary of the training split, windows, the CSV of texts, their errors."""
import json

import numpy as np
import pytest

from specc.data.text import finish_vocab, load_sequences, load_text
from specc.errors import DataError
from specc.ir import Input, Layer, Model, Output, Program
from specc.vocab import PAD_ID, UNK_ID, Vocab, tokenize


def lm_program(t=4, vocab=64):
    """A stand-in language model: the loaders read its input and output shapes and its embedding."""
    layers = (Layer("embedding_1", "embedding", {"vocab": vocab, "dim": 8}, ("x",), ((t,),), (t, 8)),
              Layer("dense_1", "dense", {"units": vocab}, ("embedding_1",), ((t, 8),), (t, vocab)))
    model = Model("m", (Input("x", (t,), "int"),), layers, (Output("output", "dense_1"),))
    return Program(model, None, None, path="<string>", source_text="")


def test_tokenize_levels():
    assert tokenize("Ab c\n", "char") == ["A", "b", " ", "c", "\n"]
    assert tokenize("Don't stop, O'er-there!", "word") == ["don't", "stop", ",", "o'er", "-", "there", "!"]


def test_vocab_layout_order_and_json_round_trip():
    from collections import Counter

    v = Vocab.build(Counter("abracadabra"), "char")
    assert v.tokens == ("<pad>", "<unk>", "a", "b", "r", "c", "d")  # most frequent first, ties by character
    assert (v.id("<pad>"), v.id("<unk>"), v.id("z")) == (PAD_ID, UNK_ID, UNK_ID)
    assert v.decode([0, 2, 3, 1]) == "ab<unk>"  # padding dropped
    assert Vocab.from_json(v.to_json()) == v
    assert Vocab.build(Counter("abracadabra"), "char", max_size=4).tokens == ("<pad>", "<unk>", "a", "b")


@pytest.mark.parametrize("text, wrong", [
    ('{"level": "char", "tokens": ["a"]}', "must start with"),
    ('{"level": "byte", "tokens": ["<pad>", "<unk>"]}', "level"),
    ('{"level": "char", "tokens": ["<pad>", "<unk>", "a", "a"]}', "twice"),
    ('[1, 2]', "no JSON object"),
])
def test_bad_vocab_json_says_what_is_wrong(text, wrong):
    with pytest.raises(ValueError, match=wrong):
        Vocab.from_json(text)


def test_text_windows_are_the_inputs_and_the_next_tokens(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("abcdefghij")
    raw = load_text(str(p), "char", context=4, stride=3)
    decode = lambda ids: "".join(raw.vocab.tokens[i] for i in ids)  # noqa: E731
    assert [decode(r) for r in raw.x] == ["abcd", "defg"]  # starts 0, 3 (6 would need 11 characters)
    assert [decode(r) for r in raw.y] == ["bcde", "efgh"]
    assert raw.x.dtype == np.int64 and raw.token_targets


def test_the_vocabulary_comes_from_the_training_split_only(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("aaabbbcccz")
    raw = load_text(str(p), "char", context=3, stride=3)  # x aaa, bbb, ccc; y aab, bbc, ccz
    xs, ys = {"source": raw.x}, {"source": raw.y}
    vocab = finish_vocab(lm_program(t=3), {"source": raw}, xs, ys, np.array([0, 1]))
    assert set(vocab.tokens) == {"<pad>", "<unk>", "a", "b", "c"}  # z is only in the held-out window
    assert vocab.decode(xs["source"][2]) == "ccc" and vocab.decode(ys["source"][2]) == "cc<unk>"


def test_an_embedding_too_small_for_the_vocabulary_names_the_size_to_write(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("abcdefghij" * 3)
    raw = load_text(str(p), "char", context=4, stride=4)
    with pytest.raises(DataError, match=r"12 token ids .* embedding_1 has vocab 8") as e:
        finish_vocab(lm_program(vocab=8), {"source": raw}, {"source": raw.x}, {"source": raw.y}, None)
    assert "embedding(12, ...)" in e.value.hint


def test_text_shorter_than_one_window(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("abc")
    with pytest.raises(DataError, match="holds 3 char tokens; one window of context=4 needs 5"):
        load_text(str(p), "char", 4, 4)


def test_text_that_is_not_utf8_names_line_and_column(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(b"first line\nsec\xffond\n")
    with pytest.raises(DataError, match="not UTF-8") as e:
        load_text(str(p), "char", 4, 4)
    assert (e.value.pos.line, e.value.pos.column) == (2, 4)


def write_csv(tmp_path, text):
    p = tmp_path / "s.csv"
    p.write_text(text)
    return str(p)


def test_sequences_pad_right_truncate_and_labels(tmp_path):
    path = write_csv(tmp_path, 'text,label\n"good film, good",pos\nbad,neg\n\n"a b c d e f",neg\n')
    raw = load_sequences(path, "text", "label", "word", max_len=4, vocab=100)
    v = raw.vocab
    assert [v.decode(r) for r in raw.x] == ["good film , good", "bad", "a b c d"]  # cut after 4 tokens
    assert (raw.x[1, 1:] == PAD_ID).all()  # right padding with id 0
    assert list(raw.y) == ["pos", "neg", "neg"] and list(raw.lines) == [2, 3, 5]


def test_sequences_numeric_labels_stay_numbers(tmp_path):
    path = write_csv(tmp_path, "label,text\n10,x\n2,y\n")
    assert list(load_sequences(path, "text", "label", "word", 3, 100).y) == [10, 2]


def test_sequences_vocab_keeps_the_most_frequent_training_tokens(tmp_path):
    path = write_csv(tmp_path, "text,label\na a a b b c,1\na d,0\n")
    raw = load_sequences(path, "text", "label", "word", max_len=6, vocab=4)
    xs, ys = {"source": raw.x}, {"source": raw.y}
    vocab = finish_vocab(lm_program(t=6, vocab=100), {"source": raw}, xs, ys, None)
    assert vocab.tokens == ("<pad>", "<unk>", "a", "b")
    assert vocab.decode(xs["source"][0]) == "a a a b b <unk>"


@pytest.mark.parametrize("text, message, line", [
    ("words,label\nx,1\n", "no text column 'text'; the columns are words, label", 1),
    ("text,label\nx,1\ny\n", "row has 1 fields but the header has 2", 3),
    ("text,label\nx,1\ny, \n", "empty label in column 'label'", 3),
    ("text,label\n", "has a header but no rows", 1),
])
def test_sequences_errors_name_the_row(tmp_path, text, message, line):
    path = write_csv(tmp_path, text)
    with pytest.raises(DataError, match=message) as e:
        load_sequences(path, "text", "label", "word", 4, 100)
    assert e.value.pos.file == path and e.value.pos.line == line


def test_vocab_json_in_the_run_directory(tmp_path):
    from collections import Counter

    from specc import rundir

    v = Vocab.build(Counter("héllo"), "char")
    rundir.write_vocab(tmp_path, v)
    assert rundir.read_vocab(tmp_path) == v
    (tmp_path / rundir.VOCAB).write_text(json.dumps({"tokens": 3}))
    with pytest.raises(Exception, match="vocab.json is corrupt"):
        rundir.read_vocab(tmp_path)
    assert rundir.read_vocab(tmp_path / "nowhere") is None
