"""Writes the two generated text sets of the examples (seeded: the same files every run).

* brackets.csv: strings of ( and ), labelled balanced / unbalanced. Every
  unbalanced string is a shuffle of a balanced one, so both classes have
  exactly the same counts of each bracket: a bag of tokens cannot tell them
  apart, only the order can (examples/brackets_lstm.nn).
* reviews.csv: short made-up reviews, labelled pos / neg. A negation flips the
  adjective that follows it ("not bad" is pos), so the words alone are not
  enough either (examples/reviews_gru.nn).

    python examples/data/make_text_sets.py
"""
import csv
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def balanced(rng, pairs: int) -> str:
    """A random well-nested string of `pairs` pairs (a random walk that never goes below 0)."""
    out, depth, opened = [], 0, 0
    while opened < pairs or depth:
        if opened < pairs and (depth == 0 or rng.random() < 0.5):
            out.append("(")
            depth, opened = depth + 1, opened + 1
        else:
            out.append(")")
            depth -= 1
    return "".join(out)


def is_balanced(s: str) -> bool:
    depth = 0
    for c in s:
        depth += 1 if c == "(" else -1
        if depth < 0:
            return False
    return depth == 0


def brackets(rng, n: int) -> list[tuple[str, str]]:
    rows = []
    while len(rows) < n:
        s = balanced(rng, int(rng.integers(2, 9)))  # 4 to 16 brackets
        if len(rows) % 2:
            shuffled = "".join(rng.permutation(list(s)))
            if is_balanced(shuffled):
                continue
            rows.append((shuffled, "unbalanced"))
        else:
            rows.append((s, "balanced"))
    return rows


SUBJECTS = ["the film", "this movie", "the plot", "the acting", "the soundtrack", "the ending", "the cast",
            "the script", "the story", "the camera work"]
VERBS = ["was", "is", "felt", "seemed", "looked"]
GOOD = ["good", "great", "wonderful", "moving", "clever", "fun", "brilliant", "charming"]
BAD = ["bad", "boring", "awful", "dull", "silly", "weak", "clumsy", "tedious"]
ADVERBS = ["", "really ", "quite ", "very ", "rather "]
ENDINGS = ["", " overall", " to me", " at times", " in the end"]


def reviews(rng, n: int) -> list[tuple[str, str]]:
    rows = []
    for _ in range(n):
        good = rng.random() < 0.5
        negated = rng.random() < 0.4
        word = str(rng.choice(GOOD if good else BAD))
        text = (f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {'not ' if negated else ''}{rng.choice(ADVERBS)}"
                f"{word}{rng.choice(ENDINGS)}")
        rows.append((text, "pos" if good != negated else "neg"))
    return rows


def write(name: str, rows) -> None:
    with open(os.path.join(HERE, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(rows)


if __name__ == "__main__":
    write("brackets.csv", brackets(np.random.default_rng(0), 4000))
    write("reviews.csv", reviews(np.random.default_rng(1), 3000))
