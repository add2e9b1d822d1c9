"""The sampler of `specc generate`: numpy only, independent of any backend."""
from collections import Counter

import numpy as np
import pytest

from specc.errors import SpecError
from specc.generate import Sampling, encode_prompt, next_token, sample
from specc.rng import stream
from specc.vocab import Vocab

VOCAB = Vocab.build(Counter("hello world"), "char")


def test_greedy_takes_the_best_token_but_never_pad_or_unk():
    scores = np.array([9.0, 8.0, 1.0, 3.0, 2.0])
    assert next_token(scores, stream(0, "generate"), Sampling(temperature=0)) == 3


def test_top_k_draws_only_among_the_k_best():
    scores = np.log(np.array([0.0, 0.0, 0.1, 0.5, 0.3, 0.1]))
    rng = stream(0, "generate")
    drawn = Counter(next_token(scores, rng, Sampling(1.0, top_k=2)) for _ in range(2000))
    assert set(drawn) == {3, 4}
    assert 0.55 < drawn[3] / 2000 < 0.70  # 0.5 / (0.5 + 0.3) = 0.625


def test_temperature_sharpens_the_distribution():
    scores = np.log(np.array([0.0, 0.0, 0.5, 0.5 * np.e ** -1]))  # logits 0 and -1 (plus log 0.5)
    rng = stream(1, "generate")
    cold = Counter(next_token(scores, rng, Sampling(0.25)) for _ in range(2000))
    assert cold[2] / 2000 > 0.95  # exp(-4) / (1 + exp(-4)) = 0.018 for the worse token


def test_the_same_seed_gives_the_same_tokens():
    table = np.random.default_rng(0).standard_normal((len(VOCAB), len(VOCAB)))
    scores_of = lambda window: table[window[-1]]  # noqa: E731  (a bigram model)
    a = sample(scores_of, [2], 50, 8, Sampling(0.8, 0, seed=3))
    b = sample(scores_of, [2], 50, 8, Sampling(0.8, 0, seed=3))
    c = sample(scores_of, [2], 50, 8, Sampling(0.8, 0, seed=4))
    assert a == b and a != c and len(a) == 50 and min(a) >= 2


def test_the_window_is_the_last_context_tokens():
    seen = []
    sample(lambda w: seen.append(list(w)) or np.zeros(len(VOCAB)), [2, 3, 4], 3, 2, Sampling(seed=0))
    assert [len(w) for w in seen] == [2, 2, 2] and seen[0] == [3, 4]


def test_prompt_with_unknown_characters_names_them():
    assert encode_prompt("hello", VOCAB) == VOCAB.encode("hello")
    with pytest.raises(SpecError, match="the prompt holds characters the model's vocabulary lacks: 'H', 'z'"):
        encode_prompt("Hellz", VOCAB)
    with pytest.raises(SpecError, match="the prompt is empty"):
        encode_prompt("", VOCAB)
