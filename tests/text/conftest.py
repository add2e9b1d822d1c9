"""A tiny causal language model trained once on a generated text, and an in-process CLI."""
from __future__ import annotations

import pytest

TEXT = "the quick brown fox jumps over the lazy dog\n" * 12  # 28 characters: vocabulary 30 with <pad>, <unk>

SPEC = """
model tiny_lm {
    input text [8] int
    embedding(30, 16)
    pos_embedding
    residual {
        layernorm
        attention(2, causal=true)
    }
    dense(30)
    softmax
}
data {
    source = text("corpus.txt", level=char, context=8)
    split = [0.9, 0.1, 0]
}
train {
    loss = cross_entropy
    optimizer = adam(lr=0.01)
    batch = 8
    steps = 30
    metrics = [perplexity]
    seed = 0
}
"""


@pytest.fixture
def cli(capsys):
    """Run `specc ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from specc.cli import main

    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def write_spec(folder, spec: str = SPEC, text: str = TEXT):
    (folder / "corpus.txt").write_text(text)
    path = folder / "tiny_lm.nn"
    path.write_text(spec)
    return path


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    """(spec path, run directory) of the tiny model trained 30 steps on the NumPy backend."""
    from specc.driver import Trainer
    from specc.frontend import compile_file

    folder = tmp_path_factory.mktemp("lm")
    path = write_spec(folder)
    Trainer(compile_file(str(path)), backend="numpy", out=folder / "run", quiet=True).run()
    return path, folder / "run"
