"""Fuzz the front end (issue 8.1) for many cases and print the counts.

Cases: generated valid specs, mutations of them (tokens deleted/duplicated/swapped/replaced,
random characters and bytes, huge numbers, keywords in odd places, truncation, BOM, CRLF,
invalid UTF-8), random byte strings, and every 1,000th case a deep-nesting or 100k-character
one. Each case must end in a Program or a SpecError/SpecErrors with a position; anything
else is a crash, printed with its seed and saved under --out for replay.

    python bench/fuzz.py [--cases 10000] [--seed 0] [--out /tmp/specc-fuzz]
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "fuzz"))
from specgen import Crash, deep_nesting, mutate, random_bytes, run_case, valid_spec  # noqa: E402

CASE_SECONDS = 20  # deep-nesting cases take ~0.5 s; 20 s is a hang


def make_case(i: int, rng: random.Random):
    """(kind, data) for case i."""
    if i % 1000 == 999:
        kind = rng.choice(["residual", "list", "call", "open", "blocks", "longline"])
        return f"deep:{kind}", deep_nesting(kind, 100_000 if kind == "longline" else 10_000)
    r = rng.random()
    if r < 0.15:
        return "valid", valid_spec(rng)
    if r < 0.25:
        return "bytes", random_bytes(rng)
    return "mutant", mutate(valid_spec(rng), rng)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "specc-fuzz"))
    args = ap.parse_args()

    def fire(signum, frame):
        raise TimeoutError

    signal.signal(signal.SIGALRM, fire)
    counts = collections.Counter()
    by_kind = collections.Counter()
    crashes, known = [], collections.Counter()
    t0 = time.perf_counter()
    for i in range(args.cases):
        rng = random.Random(f"{args.seed}:{i}")
        kind, data = make_case(i, rng)
        by_kind[kind.split(":")[0]] += 1
        signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
        try:
            outcome = run_case(data)
        except Crash as e:
            if e.known:
                outcome = "known-bug"
                known[e.known] += 1
            else:
                outcome = "crash"
                crashes.append((i, kind, str(e), data))
        except TimeoutError:
            outcome = "crash"
            crashes.append((i, kind, f"no result within {CASE_SECONDS} s", data))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        counts[outcome] += 1
        if kind == "valid" and outcome != "valid":
            counts["generator-invalid"] += 1
    elapsed = time.perf_counter() - t0

    print(f"cases={args.cases} valid={counts['valid']} rejected_with_position={counts['rejected']} "
          f"crashes={counts['crash']} known_bug_crashes={counts['known-bug']}")
    print(f"kinds: " + ", ".join(f"{k}={v}" for k, v in sorted(by_kind.items())))
    print(f"generated-valid specs that failed to compile: {counts['generator-invalid']}")
    print(f"time: {elapsed:.1f} s ({1e3 * elapsed / max(args.cases, 1):.2f} ms/case)")
    for why, n in known.items():
        print(f"known bug ({n} cases): {why}")
    if crashes:
        os.makedirs(args.out, exist_ok=True)
        for i, kind, msg, data in crashes[:20]:
            path = os.path.join(args.out, f"crash_{args.seed}_{i}.nn")
            with open(path, "wb") as f:
                f.write(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
            print(f"CRASH case {i} ({kind}): {msg[:300]}  -> {path}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
