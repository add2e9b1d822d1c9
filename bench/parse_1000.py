"""Parse + check time of a generated 1,000-layer spec (goal: well under 1 s).

The spec is an MLP of 1,000 layers (dense/activation pairs, every tenth pair wrapped in a
residual, a block used a few times), with data and train sections. Prints the median of
--runs runs for: Lark's parse alone (the floor any front end on this grammar pays), our parse
(Lark + syntax tree), and the full compile (parse + every pass), each per layer too.

    python bench/parse_1000.py [--layers 1000] [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from specc.frontend import compile_text
from specc.parser import _parser, parse

ACTS = ["relu", "tanh", "sigmoid", "elu(alpha=0.5)", "leaky_relu(alpha=0.1)", "selu", "softplus", "prelu"]


def spec(n_layers: int) -> str:
    lines = ["block pair(n, a=0.1) {", "    dense(n, init=he_normal)", "    leaky_relu(alpha=a)", "}", "",
             "model deep {", "    input [32]"]
    count, i = 0, 0
    while count < n_layers - 2:
        if i % 10 == 9:
            lines += ["    residual {", "        dense(32)", "        relu", "    }"]
            count += 3
        elif i % 10 == 4:
            lines.append("    pair(32)")
            count += 2
        else:
            lines += [f"    dense(32)  # layer {count + 1}", f"    {ACTS[i % len(ACTS)]}"]
            count += 2
        i += 1
    lines += ["    dense(10)", "    softmax", "}", "",
              "data {", "    source = moons(200, 0.1)", "    split = [0.8, 0.1, 0.1]", "}", "",
              "train {", "    loss = cross_entropy", "    optimizer = sgd(lr=0.1, momentum=0.9)", "    epochs = 3", "}"]
    return "\n".join(lines) + "\n"


def median_time(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    text = spec(args.layers)
    program = compile_text(text)  # also warms the cached Lark parser
    n = len(program.all_layers())
    lark = _parser()
    t_lark = median_time(lambda: lark.parse(text, start="start"), args.runs)
    t_parse = median_time(lambda: parse(text), args.runs)
    t_all = median_time(lambda: compile_text(text), args.runs)
    print(f"spec: {n} layers, {len(text.splitlines())} lines, {len(text):,} bytes; median of {args.runs} runs")
    for label, t in [("lark parse only", t_lark), ("specc.parser.parse", t_parse), ("compile_text (parse + check)", t_all)]:
        print(f"{label:30s} {t * 1e3:8.1f} ms  ({t / n * 1e6:6.1f} us/layer, {t / t_lark:4.2f}x lark alone)")
    print(f"goal: compile_text well under 1 s -> {'ok' if t_all < 1.0 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
