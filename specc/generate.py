"""Autoregressive sampling from a trained language model (`specc generate`).

Backends only supply the scores of the next token; choosing it happens here,
with specc's own NumPy generator, so the numpy, torch and onnx backends give
the same tokens for the same seed and weights (up to float32 rounding moving a
draw across a boundary between two tokens, which a 64-bit uniform makes rare).

The window fed to the model is the last `context` tokens; a shorter one (the
first steps after a short prompt) is padded on the right to the model's T and
the scores are read at its last real position. For a causal model (causal
attention, a forward recurrent layer) positions after that one cannot change
it, so every backend runs the shape the model was built for.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError
from .ir import Pos, Program
from .rng import stream
from .vocab import PAD_ID, UNK_ID, Vocab, tokenize

BACKENDS = ("numpy", "torch", "onnx")


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen: temperature 0 is greedy (argmax); top_k 0 keeps every token."""

    temperature: float = 1.0
    top_k: int = 0
    seed: int = 0


def next_token(scores: np.ndarray, rng: np.random.Generator, how: Sampling) -> int:
    """One token id from the log-probabilities (or logits) of the vocabulary; never <pad> or <unk>."""
    scores = np.array(scores, dtype=np.float64)
    scores[[PAD_ID, UNK_ID]] = -np.inf
    if how.temperature == 0:
        return int(np.argmax(scores))
    scores = scores / how.temperature
    if 0 < how.top_k < len(scores):
        kth = np.partition(scores, -how.top_k)[-how.top_k]
        scores[scores < kth] = -np.inf
    p = np.exp(scores - scores.max())
    cdf = np.cumsum(p)
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), len(cdf) - 1))


def sample(scores_of, prompt: list[int], n: int, context: int, how: Sampling) -> list[int]:
    """`n` new token ids after `prompt`; `scores_of(window)` gives the next token's scores for a window."""
    rng = stream(how.seed, "generate")
    ids = list(prompt)
    for _ in range(n):
        ids.append(next_token(scores_of(ids[-context:]), rng, how))
    return ids[len(prompt):]


def encode_prompt(prompt: str, vocab: Vocab) -> list[int]:
    """Token ids of the prompt; a token the vocabulary lacks is a SpecError that names it."""
    tokens = tokenize(prompt, vocab.level)
    if not tokens:
        raise SpecError("the prompt is empty; give at least one token to start from", Pos("--prompt"),
                        hint='e.g. --prompt "ROMEO:"')
    missing = vocab.unknown(tokens)
    if missing:
        what = "characters" if vocab.level == "char" else "words"
        shown = ", ".join(repr(t) for t in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise SpecError(f"the prompt holds {what} the model's vocabulary lacks: {shown}", Pos("--prompt"),
                        hint=f"the vocabulary has the {len(vocab) - 2} {what} of the training text")
    return vocab.encode(tokens)


def check_language_model(program: Program, vocab: Vocab) -> int:
    """The context length T; a SpecError unless the model maps [T] int tokens to [T, V >= vocab] scores."""
    m = program.model
    inp = m.inputs[0]
    if len(m.inputs) != 1 or inp.dtype != "int" or len(inp.shape) != 1:
        raise SpecError(f"generate needs a model with one token input `[T] int`; `{m.name}` takes "
                        + ", ".join(f"{i.name} [{', '.join(map(str, i.shape))}]" for i in m.inputs), m.pos)
    out = tuple(m.output_shape)
    if len(m.outputs) != 1 or len(out) != 2 or out[0] != inp.shape[0] or out[1] < len(vocab):
        raise SpecError(f"generate needs a language model: scores [T, V] for every position, V >= the "
                        f"{len(vocab)} token ids of its vocabulary; `{m.name}` outputs [{', '.join(map(str, out))}]",
                        m.pos, hint="end the model with dense(V); softmax on the sequence")
    return inp.shape[0]


def scores_function(program: Program, params: dict, backend: str, vocab: Vocab):
    """`scores_of(window) -> [V]` float64 scores of the token after the window, on one backend."""
    context = program.model.inputs[0].shape[0]
    run = _runner(program, params, backend, vocab)
    kind = program.model.output_op

    def scores_of(window):
        x = np.full((1, context), PAD_ID, np.int64)
        x[0, :len(window)] = window
        out = np.asarray(run(x), np.float64)[0, len(window) - 1, :len(vocab)]
        if kind == "softmax":  # probabilities -> log-probabilities (a 0 becomes -inf: never drawn)
            with np.errstate(divide="ignore"):
                return np.log(out)
        return out

    return scores_of


def _runner(program: Program, params: dict, backend: str, vocab: Vocab):
    """A function from int64 tokens [1, T] to the model's output [1, T, V] (eval mode)."""
    if backend == "onnx":
        from specc.backends.onnx.export import build_model
        from specc.backends.onnx.runtime import session

        sess = session(build_model(program, params, vocab=vocab), threads=1)
        name = program.model.inputs[0].name
        return lambda x: sess.run(None, {name: x})[0]
    from .backend_lookup import backend_class

    options = {"device": "cpu"} if backend == "torch" else {}
    net = backend_class(backend)(program, params, seed=0, **options)
    return lambda x: net.predict([x], 1)
