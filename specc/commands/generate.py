"""`specc generate RUN --prompt "..." -n 200`: sample text from a trained language model.

The run directory gives the spec, the weights and vocab.json; the backend only
computes the next token's scores, specc.generate draws the token, so every
backend prints the same text for the same --seed.
"""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("generate", help="sample text from a trained language model",
                              description="Autoregressive sampling from a run trained on text(...) data.")
    p.add_argument("run", metavar="RUN", help="a run directory of `specc train` (with vocab.json)")
    p.add_argument("--prompt", required=True, help="the text to continue (every token must be in the vocabulary)")
    p.add_argument("-n", type=_count, default=200, help="tokens to generate (default 200)")
    p.add_argument("--temperature", type=_temperature, default=1.0,
                   help="divides the logits: below 1 is more conservative, 0 is greedy (default 1)")
    p.add_argument("--top-k", type=_count, default=0, help="draw only among the k likeliest tokens (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling generator (default 0)")
    p.add_argument("--backend", choices=["numpy", "torch", "onnx"], default="numpy",
                   help="what computes the scores: numpy (default), torch (CPU) or onnx (onnxruntime)")
    p.set_defaults(func=run)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _temperature(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of 0 or more, got {text}")
    return value


def run(args) -> int:
    from ..api import load
    from ..errors import SpecError
    from ..generate import Sampling, check_language_model, encode_prompt, sample, scores_function
    from ..ir import Pos
    from ..rundir import VOCAB, read_vocab

    model = load(args.run)
    vocab = read_vocab(args.run)
    if vocab is None:
        raise SpecError(f"{args.run} has no {VOCAB}: generate needs a run trained on text(...) data",
                        Pos(file=str(args.run)), hint="train a language model on `source = text(...)` first")
    context = check_language_model(model.program, vocab)
    prompt = encode_prompt(args.prompt, vocab)
    scores_of = scores_function(model.program, model.params, args.backend, vocab)
    ids = sample(scores_of, prompt, args.n, context, Sampling(args.temperature, args.top_k, args.seed))
    joiner = "" if vocab.level == "char" else " "
    print(args.prompt + joiner + vocab.decode(ids) if ids else args.prompt)
    return 0
