"""The tiny causal language model of the text tests (causal attention) and its generated text."""

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
    source = text("corpus.txt", level=char, context=8, stride=1)
    split = [0.9, 0.1, 0]
}
train {
    loss = cross_entropy
    optimizer = adam(lr=0.02)
    batch = 8
    steps = 200
    metrics = [perplexity]
    seed = 0
}
"""


def write_spec(folder, spec: str = SPEC, text: str = TEXT):
    (folder / "corpus.txt").write_text(text)
    path = folder / "tiny_lm.nn"
    path.write_text(spec)
    return path
