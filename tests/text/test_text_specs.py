"""Text sources through the front end and the data loader: the static checks and the loaded splits."""
from __future__ import annotations

import pytest
from lm_spec import SPEC, TEXT, write_spec

from specc.errors import SpecErrors


def compile_spec(tmp_path, spec=SPEC):
    from specc.frontend import compile_file

    return compile_file(str(write_spec(tmp_path, spec)))


def test_windows_and_next_tokens_load_as_int64(tmp_path):
    from specc.data import load_data

    ds = load_data(compile_spec(tmp_path))
    assert ds.train.x.dtype.kind == "i" and ds.train.x.shape[1:] == (8,)
    assert ds.train.y.shape == ds.train.x.shape
    assert (ds.train.x[:, 1:] == ds.train.y[:, :-1]).all()  # the target is the input one token later
    assert len(ds.vocab) == 30 and len(ds.train) + len(ds.val) == len(TEXT) - 8  # stride 1


@pytest.mark.parametrize("change, message", [
    (("context=8", "context=16"), "text(): context=16 but the model input `text` takes 8 tokens"),
    (("input text [8] int\n    embedding(30, 16)", "input text [8, 16]"),
     "text() gives token ids [context], but the input `text` is [8, 16]"),
    (("level=char", "level=byte"), "text's `level` must be one of char, word; got 'byte'"),
])
def test_static_checks(tmp_path, change, message):
    with pytest.raises(SpecErrors) as e:
        compile_spec(tmp_path, SPEC.replace(*change))
    assert message in str(e.value)


def test_embedding_smaller_than_the_vocabulary_names_the_size(tmp_path):
    from specc.data import load_data
    from specc.errors import SpecError

    spec = SPEC.replace("embedding(30, 16)", "embedding(20, 16)")
    with pytest.raises((SpecError, SpecErrors)) as e:
        load_data(compile_spec(tmp_path, spec))
    assert "gives 30 token ids" in str(e.value) and "embedding(30, ...)" in str(e.value)


def test_sequences_classifier_data(tmp_path):
    from specc.data import load_data
    from specc.frontend import compile_file

    (tmp_path / "s.csv").write_text("text,label\n" + "".join(f"word{i % 7} and more,{'ab'[i % 2]}\n" for i in range(40)))
    spec = tmp_path / "c.nn"
    spec.write_text("""
model c {
    input text [5] int
    embedding(12, 4, pad=0)
    flatten
    dense(2)
    softmax
}
data { source = sequences("s.csv", max_len=5, vocab=12); split = [0.5, 0.5, 0] }
train { loss = cross_entropy; optimizer = adam(lr=0.01); batch = 4; steps = 2 }
""")
    ds = load_data(compile_file(str(spec)))
    assert ds.classes == ("a", "b") and ds.train.x.shape == (20, 5)
    assert (ds.train.x[:, 3:] == 0).all()  # three tokens, then padding
    assert len(ds.vocab) <= 12
