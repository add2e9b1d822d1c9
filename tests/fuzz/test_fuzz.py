"""Fuzzing the front end (issue 8.1): generated valid specs and their mutations.

Every case must end in a Program or in SpecError/SpecErrors with a position; never another
exception, never a hang. In-process cases are bounded by a SIGALRM timer; the deep-nesting
cases (10,000 levels) run in a subprocess with a timeout. bench/fuzz.py runs the same
generators for 10,000+ cases.
"""
from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from specgen import (Crash, deep_nesting, mutate, random_bytes, run_case, valid_spec)  # noqa: E402

from specc.frontend import compile_text  # noqa: E402
from specc.parser import parse  # noqa: E402
from specc.printer import format_program, format_syntax  # noqa: E402

OK = Path(__file__).parent.parent / "frontend" / "ok"
CASE_SECONDS = 10  # a case takes milliseconds; 10 s means a hang, even on a loaded 2-core machine
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextlib.contextmanager
def time_limit(seconds: float):
    def fire(signum, frame):
        raise TimeoutError(f"case took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check(data) -> str:
    """run_case with a time bound; a crash already reported (Crash.known) counts as rejected."""
    with time_limit(CASE_SECONDS):
        try:
            return run_case(data)
        except Crash as e:
            if e.known:
                return "known-bug"
            raise


@FUZZ
@given(st.randoms(use_true_random=False))
def test_generated_specs_are_valid_and_round_trip(rng):
    text = valid_spec(rng)
    assert check(text) == "valid", text
    p = compile_text(text, "g.nn")
    once = format_syntax(parse(text, "g.nn"))
    assert compile_text(once, "g.nn") == p
    assert format_syntax(parse(once, "g.nn")) == once
    assert compile_text(format_program(p), "g.nn") == p


@settings(FUZZ, max_examples=300)
@given(st.randoms(use_true_random=False))
def test_mutated_specs_never_crash(rng):
    data = mutate(valid_spec(rng), rng)
    if check(data) == "valid":  # a mutant that still compiles must still round-trip through both printers
        text = data.decode("utf-8-sig")
        p = compile_text(text, "g.nn")
        once = format_syntax(parse(text, "g.nn"))
        assert compile_text(once, "g.nn") == p and format_syntax(parse(once, "g.nn")) == once
        assert compile_text(format_program(p), "g.nn") == p


@FUZZ
@given(st.randoms(use_true_random=False))
def test_random_bytes_never_crash(rng):
    check(random_bytes(rng))


@FUZZ
@given(st.binary(max_size=400))
def test_hypothesis_bytes_never_crash(data):
    check(data)


TOKENS = ["model", "block", "data", "train", "input", "residual", "true", "false", "m", "dense", "relu", "conv2d",
          "flatten", "loss", "optimizer", "sgd", "lr", "x", "{", "}", "(", ")", "[", "]", ",", ";", "=", ".", "\n",
          " ", "# c\n", "1", "0", "-1", "0.5", "1e-3", "1e999", '"s"', '"', "\\", "\t", "\r\n", "\ufeff"]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_token_soup_never_crashes(tokens):
    check(" ".join(tokens))
    check("".join(tokens))


@FUZZ
@given(st.text(max_size=200))
def test_unicode_text_never_crashes(text):
    check(text)
    check("model m {\n    input [4]\n    " + text + "\n}\n")


@pytest.mark.parametrize("kind", ["residual", "list", "call", "open", "blocks"])
def test_deep_nesting_is_an_error_not_a_crash(kind):
    """10,000 levels: must end in a positioned error (or a Program), in a subprocess with a timeout."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from specgen import deep_nesting, run_case; "
            "print(run_case(deep_nesting(sys.argv[2], 10000)))")
    r = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), kind],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() in ("valid", "rejected")


def test_long_lines():
    assert check(deep_nesting("longline", 100_000)) == "rejected"
    line = "model m { input [4]; " + "dense(4); " * 2000 + "relu }"
    assert len(line) > 20_000 and check(line) == "valid"
    assert check("model m { input [4]; dense(4) } #" + "x" * 100_000) == "valid"
    assert check('model m { input [4]; dense(4, name="' + "a" * 100_000 + '") }') == "valid"


@pytest.mark.parametrize("name", sorted(p.name for p in OK.glob("*.nn")))
def test_encodings_of_valid_specs(name):
    text = (OK / name).read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    plain = compile_text(text, str(OK / name))
    raw = text.encode()
    for variant in [b"\xef\xbb\xbf" + raw, raw.replace(b"\n", b"\r\n"), b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")]:
        assert check(variant) == "valid"
    # Invalid UTF-8 anywhere: a positioned error, never a crash.
    rng = random.Random(name)
    for _ in range(5):
        k = rng.randrange(len(raw) + 1)
        assert check(raw[:k] + bytes([rng.randrange(0x80, 0x100)]) + raw[k:]) == "rejected"


def test_huge_numbers_are_rejected_or_accepted_cleanly():
    for n in ["9" * 5000, "1e999", "-1e999", "1e-999", "99999999999999999999999"]:
        check(f"model m {{ input [4]; dense({n}) }}")
        check(f"model m {{ input [4]; dense(4); dropout({n}) }}")


@pytest.mark.parametrize("where", ["split = [0.5, 0.5, {n}]", "scale = {n}"])
def test_known_crash_huge_int_in_float_position(where):
    n = "9" * 400
    run_case("model m { input [4]; dense(2) }\ndata { source = xor(); " + where.format(n=n) + " }\n")


def test_known_crash_huge_int_layer_arg():
    run_case("model m { input [4]; dense(2); dropout(" + "9" * 400 + ") }")


MNIST = str(OK / "mnist_mlp.nn")
OVERRIDE_PARTS = ["train", "data", ".", "=", "epochs", "batch", "optimizer", "adam(lr=1e-3)", "sgd(", ")", "[", "]",
                  "5", "-1", "1e999", '"', "input", "model", ";", "\n", " ", "#", "x"]


def check_override(text: str) -> None:
    """compile_file with one --set: a Program or positioned errors, nothing else."""
    from specc.errors import SpecError, SpecErrors
    from specc.frontend import compile_file

    with time_limit(CASE_SECONDS):
        try:
            compile_file(MNIST, overrides=[text])
        except SpecErrors as e:
            errors = e.errors
        except SpecError as e:
            errors = [e]
        else:
            return
    for err in errors:
        assert err.pos is not None and err.pos.line >= 1 and err.pos.column >= 1, err.message
        err.render()


@FUZZ
@given(st.lists(st.sampled_from(OVERRIDE_PARTS), max_size=12))
def test_override_soup_never_crashes(parts):
    check_override("".join(parts))


@FUZZ
@given(st.sampled_from(["train.epochs", "train.optimizer", "data.val", "train.metrics", "data.split"]), st.text(max_size=40))
def test_override_values_never_crash(key, value):
    check_override(f"{key}={value}")
