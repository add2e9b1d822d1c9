"""Random `.nn` specs for fuzzing: valid ones built from the grammar with shapes tracked,
and mutations of them (tokens deleted/duplicated/swapped, random bytes, huge numbers, deep
nesting, long lines, invalid UTF-8, BOM, CRLF).

Everything is driven by a `random.Random`, so the hypothesis tests (st.randoms()) and
bench/fuzz.py (a seeded loop) share one generator. `run_case` is the oracle: a case must end
in a Program or in SpecError/SpecErrors whose every error has a position.
"""
from __future__ import annotations

import random
import re

from specc.errors import SpecError, SpecErrors, printable
from specc.frontend import compile_text
from specc.ir import Program
from specc.parser import decode

ACTS = ["identity", "step", "step(threshold=0.5)", "sigmoid", "sigmoid(steepness=2)", "tanh", "scaled_tanh",
        "hard_sigmoid", "relu", "leaky_relu", "leaky_relu(alpha=0.2)", "prelu", "prelu(alpha=0.1)", "elu",
        "elu(0.5)", "selu", "softplus"]
INITS = ["auto", "lecun_normal", "lecun_uniform", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
         "normal(0.01)", "normal(std=0.1)", "uniform(limit=0.05)", "zeros"]
OPTIMIZERS = ["sgd(lr=0.1)", "sgd(0.01, momentum=0.9)", "sgd(lr=0.1, momentum=0.5, nesterov=true)", "adagrad",
              "adagrad(lr=0.1, eps=1e-8)", "rmsprop(lr=0.001, rho=0.9)", "adadelta", "adam", "adam(lr=3e-4, beta1=0.8)",
              "adamw(lr=1e-3, weight_decay=0.1)"]
SCHEDULES = ["constant", "step(10)", "step(every=5, gamma=0.5, per=epoch)", "exponential(s=100)",
             "exponential(s=10, base=0.5)", "power(s=10, p=0.5)", "onecycle(max_lr=0.5, final_lr=0.001)",
             "cosine", "cosine(min_lr=1e-4, per=epoch)", "piecewise(boundaries=[10, 20], values=[0.1, 0.01, 0.001])"]
SOURCES = ["xor()", "moons(100, 0.1)", "spirals(n=50)", "circles(100, noise=0.05, factor=0.3)", "blobs(60, centers=3)",
           'csv("data/x.csv", target="y")', 'npz("a.npz")', 'sklearn("iris")', 'mnist("data/mnist", part="train")']


class Gen:
    """Builds one valid spec; `fmt` randomizes separators, comments and call layout."""

    def __init__(self, rng: random.Random):
        self.r = rng
        self.blocks: list[str] = []

    def sep(self):
        return self.r.choice(["\n    ", "\n    ", "; ", "\n\n    ", "  # note\n    "])

    def call(self, name, args):
        if not args:
            return name if self.r.random() < 0.7 else f"{name}()"
        joiner = self.r.choice([", ", ",", ",\n        "])
        return f"{name}({joiner.join(args)})"

    # ---- layers ----
    def image_layers(self, shape, depth=0):
        c, h, w = shape
        out = []
        for _ in range(self.r.randint(0, 4)):
            kind = self.r.choice(["conv", "conv", "pool", "act", "bn", "drop", "res"])
            if kind == "conv":
                k = self.r.randint(1, min(h, w, 5))
                f = self.r.randint(1, 6)
                s = self.r.choice([1, 1, 2])
                pad = self.r.choice(["0", "same", "1", "valid"])
                args = [str(f), str(k) if self.r.random() < 0.7 else f"[{k}, {k}]"]
                if s != 1:
                    args.append(f"stride={s}")
                if pad != "0" and (pad != "1" or k + 2 >= 1):
                    args.append(f"pad={pad}")
                if self.r.random() < 0.3:
                    args.append(f"init={self.r.choice(INITS)}")
                if self.r.random() < 0.2:
                    args.append("bias=false")
                out.append(self.call("conv2d", args))
                p = {"0": 0, "valid": 0, "1": 1}.get(pad)
                if pad == "same":
                    h, w = -(-h // s), -(-w // s)
                else:
                    h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
                c = f
            elif kind == "pool" and min(h, w) >= 2:
                size = self.r.randint(1, min(h, w, 3))
                op = self.r.choice(["maxpool", "avgpool", "l2pool"])
                stride = self.r.choice([None, 1, size])
                args = [str(size)] + ([f"stride={stride}"] if stride else [])
                out.append(self.call(op, args))
                st_ = stride or size
                h, w = (h - size) // st_ + 1, (w - size) // st_ + 1
            elif kind == "act":
                out.append(self.r.choice(ACTS))
            elif kind == "bn":
                out.append(self.r.choice(["batchnorm", "batchnorm(momentum=0.2)", "batchnorm(eps=1e-3)"]))
            elif kind == "drop":
                out.append(f"dropout({self.r.choice(['0', '0.1', '0.5', '0.99'])})")
            elif kind == "res" and depth < 3:
                k = self.r.choice([1, 3])
                body = [f"conv2d({c}, {k}, pad=same)", self.r.choice(ACTS)] + self.image_layers_same((c, h, w), depth + 1)
                out.append(self.residual(body, depth))
        return out, (c, h, w)

    def image_layers_same(self, shape, depth):
        return [self.r.choice(["batchnorm", "relu", "dropout(0.2)", f"conv2d({shape[0]}, 3, pad=same)"])
                for _ in range(self.r.randint(0, 2))]

    def residual(self, body, depth):
        ind = "    " * (depth + 2)
        return "residual {\n" + "".join(f"{ind}{b}\n" for b in body) + "    " * (depth + 1) + "}"

    def vector_layers(self, n, depth=0):
        out = []
        for _ in range(self.r.randint(0, 5)):
            kind = self.r.choice(["dense", "dense", "act", "bn", "drop", "maxout", "res"])
            if kind == "dense":
                n = self.r.randint(1, 12)
                args = [str(n) if self.r.random() < 0.8 else f"units={n}"]
                if self.r.random() < 0.3:
                    args.append(f"init={self.r.choice(INITS)}")
                if self.r.random() < 0.2:
                    args.append("bias=false")
                out.append(self.call("dense", args))
            elif kind == "maxout":
                n = self.r.randint(1, 8)
                out.append(self.call("maxout", [str(n)] + ([f"pieces={self.r.randint(1, 4)}"] if self.r.random() < 0.5 else [])))
            elif kind == "act":
                out.append(self.r.choice(ACTS))
            elif kind == "bn":
                out.append("batchnorm")
            elif kind == "drop":
                out.append("dropout(0.25)")
            elif kind == "res" and depth < 3:
                body = [f"dense({n})"] + [self.r.choice(ACTS + ["batchnorm", "dropout(0.1)"])
                                         for _ in range(self.r.randint(0, 2))]
                if self.r.random() < 0.3:
                    body.append(self.residual([f"dense({n})"], depth + 1))
                out.append(self.residual(body, depth))
        return out, n

    def model(self):
        layers = []
        if self.r.random() < 0.4:
            shape = (self.r.randint(1, 3), self.r.randint(4, 12), self.r.randint(4, 12))
            inp = f"[{shape[0]}, {shape[1]}, {shape[2]}]"
            img, shape = self.image_layers(shape)
            layers += img + ["flatten"]
            n = shape[0] * shape[1] * shape[2]
        else:
            n = self.r.randint(1, 20)
            inp = f"[{n}]"
        if self.r.random() < 0.3:  # a block used once or twice
            u = self.r.randint(1, 8)
            self.blocks.append(f"block hidden(n, a=relu_unused) {{ dense(n); {self.r.choice(ACTS)} }}")
            layers += [f"hidden({u})"] * self.r.randint(1, 2)
            n = u
        more, n = self.vector_layers(n)
        layers += more
        head = self.r.choice(["softmax", "sigmoid", "log_softmax", "none", "identity"])
        if not layers or head != "none" or self.r.random() < 0.5:
            smallest = 2 if head in ("softmax", "log_softmax") else 1  # softmax over one unit is an error
            layers.append(f"dense({self.r.randint(smallest, 5)})")
        if head != "none":
            layers.append(head)
        name = self.r.choice(["", "x ", "image "])
        body = f"input {name}{inp}" + "".join(self.sep() + l for l in layers)
        return f"model net {{\n    {body}\n}}\n", head

    def data(self):
        keys = []
        has_val = False
        if self.r.random() < 0.5:
            keys.append(f"source = {self.r.choice(SOURCES)}")
            if self.r.random() < 0.7:
                split = self.r.choice(["[0.8, 0.1, 0.1]", "[0.6, 0.2, 0.2]", "[0.5, 0.5]", "[0.7, 0, 0.3]"])
                keys.append(f"split = {split}")
                has_val = split not in ("[0.5, 0.5]", "[0.7, 0, 0.3]")
            else:
                has_val = True  # the default split has a validation part
        else:
            keys.append(f"train = {self.r.choice(SOURCES)}")
            if self.r.random() < 0.6:
                v = self.r.choice(["0.1", "0", "0.25", self.r.choice(SOURCES)])
                keys.append(f"val = {v}")
                has_val = v != "0"
            if self.r.random() < 0.5:
                keys.append(f"test = {self.r.choice(SOURCES)}")
        for k, vals in [("standardize", ["true", "false"]), ("shuffle", ["true", "false"]),
                        ("scale", ["0.0039", "1", "2.5e-1"])]:
            if self.r.random() < 0.3:
                keys.append(f"{k} = {self.r.choice(vals)}")
        self.r.shuffle(keys)
        return "data {\n    " + self.sep().join(keys) + "\n}\n", has_val

    def train(self, head, has_val):
        loss = {"softmax": "cross_entropy", "sigmoid": "bce", "log_softmax": "nll"}.get(head) or self.r.choice(
            ["mse", "mae", "huber", "huber(delta=0.5)"])
        keys = [f"loss = {loss}", f"optimizer = {self.r.choice(OPTIMIZERS)}"]
        metric_names = []
        for k, gen in [("schedule", lambda: self.r.choice(SCHEDULES)), ("batch", lambda: str(self.r.randint(1, 64))),
                       ("epochs", lambda: str(self.r.randint(1, 50))), ("l2", lambda: self.r.choice(["0", "5e-5", "1e-3"])),
                       ("weight_decay", lambda: "0.01"), ("clip_norm", lambda: "5.0"), ("seed", lambda: str(self.r.randint(0, 99)))]:
            if self.r.random() < 0.4:
                keys.append(f"{k} = {gen()}")
        if self.r.random() < 0.2 and not any(k.startswith("epochs") for k in keys):
            keys.append(f"steps = {self.r.randint(1, 1000)}")
        if self.r.random() < 0.4:
            metric_names = self.r.sample(["accuracy", "mse", "mae", "top_k(1)"], self.r.randint(1, 2))  # k <= outputs always
            keys.append(f"metrics = [{', '.join(metric_names)}]")
        if self.r.random() < 0.3:
            monitors = ["loss", "train_loss"] + (["val_loss"] + [f"val_{m}" for m in metric_names
                                                               if not m.startswith("top")] if has_val else [])
            keys.append(f"early_stop = patience({self.r.randint(1, 9)}, monitor={self.r.choice(monitors)})")
        self.r.shuffle(keys)
        return "train {\n    " + self.sep().join(keys) + "\n}\n"


def valid_spec(rng: random.Random) -> str:
    g = Gen(rng)
    model, head = g.model()
    parts = [model]
    has_val = True
    if rng.random() < 0.7:
        data, has_val = g.data()
        parts.append(data)
    if rng.random() < 0.8:
        parts.append(g.train(head, has_val))
    rng.shuffle(parts)
    text = "\n".join(g.blocks + parts)
    if rng.random() < 0.2:
        text = "# generated\n" + text
    return text


# ---- mutations -------------------------------------------------------------

TOKEN = re.compile(r'"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\s+|.', re.S)
VALUES = ["0", "-1", "1", "2", "0.5", "1.0", "1e-300", "-0.0", "true", "false", '"s"', '""', "[]", "[1]", "[1, 2]",
          "[[1]]", "x", "auto", "same", "relu", "f()", "f(1, a=2)", "input", "val_loss", "1e308", "3.5e9"]
HUGE = ["9" * 400, "1e999", "-1e999", "1e-999", "99999999999999999999999", "0.0000000000000000000000001",
        "-0", "+5", ".5", "5.", "1e308", "-9223372036854775809"]


def _tokens(text):
    return TOKEN.findall(text)


def mutate(text: str, rng: random.Random) -> bytes:
    """One to three random edits of a valid spec, returned as the bytes of a file."""
    for _ in range(rng.randint(1, 3)):
        toks = _tokens(text)
        if not toks:
            break
        i, j = rng.randrange(len(toks)), rng.randrange(len(toks))
        op = rng.choice(["delete", "duplicate", "swap", "replace", "insert_char", "huge", "keyword", "truncate",
                         "value", "value"])
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "replace":
            toks[i] = toks[j]
        elif op == "insert_char":
            toks.insert(i, rng.choice(list('{}()[],;="#\\\t\n\r.@$\x00\u00e9\u2028\ufeff') + ["\x0b", "\x0c"]))
        elif op == "huge":
            nums = [k for k, t in enumerate(toks) if re.fullmatch(r"[+-]?[\d.]+([eE][+-]?\d+)?", t)]
            toks[rng.choice(nums) if nums else i] = rng.choice(HUGE)
        elif op == "keyword":
            toks[i] = rng.choice(["model", "block", "data", "train", "input", "residual", "true", "false"])
        elif op == "value":  # a well-formed but possibly wrong value where a number or name was
            spots = [k for k, tok in enumerate(toks) if re.fullmatch(r"[\w.+-]+", tok)]
            toks[rng.choice(spots) if spots else i] = rng.choice(VALUES)
        elif op == "truncate":
            toks = toks[:i]
        text = "".join(toks)
    data = text.encode("utf-8")
    extra = rng.random()
    if extra < 0.1:
        data = b"\xef\xbb\xbf" + data
    elif extra < 0.2:
        data = data.replace(b"\n", b"\r\n")
    elif extra < 0.25:
        k = rng.randrange(len(data) + 1)
        data = data[:k] + bytes([rng.randrange(128, 256)]) + data[k:]
    elif extra < 0.3:
        k = rng.randrange(len(data) + 1)
        data = data[:k] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + data[k:]
    return data


def random_bytes(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))


def deep_nesting(kind: str, n: int) -> str:
    if kind == "residual":
        return "model m { input [4]\n" + "residual {\n" * n + "relu\n" + "}\n" * n + "}\n"
    if kind == "list":
        return "model m { input " + "[" * n + "4" + "]" * n + "\n relu }\n"
    if kind == "call":
        return "model m { input [4]; relu }\ntrain { loss = mse; optimizer = " + "f(" * n + "1" + ")" * n + " }\n"
    if kind == "open":
        return "model m { input [4]\n" + "residual {\n" * n + "(" * n
    if kind == "blocks":
        return ("".join(f"block b{i}(n) {{ b{i + 1}(n) }}\n" for i in range(n)) +
                f"block b{n}(n) {{ dense(n) }}\nmodel m {{ input [4]; b0(3) }}\n")
    if kind == "longline":
        return "model m { input [4]; dense(4, init=" + "x" * n + "); " + "relu; " * (n // 100) + "}"
    raise ValueError(kind)


# ---- the oracle ----------------------------------------------------------------

# Front-end bugs already reported, as (exception text prefix -> where to fix). A crash matching
# one is still a Crash, with `.known` set, so the fuzz tests stay green while a strict xfail in
# test_fuzz.py reproduces it; once it is fixed, that xfail turns into XPASS: delete both.
KNOWN_CRASHES: dict[str, str] = {}  # prefix of a crash message -> the bug behind it


class Crash(AssertionError):
    """A case ended in something other than a Program or a positioned SpecError."""

    def __init__(self, message: str):
        super().__init__(message)
        self.known = next((why for prefix, why in KNOWN_CRASHES.items() if message.startswith(prefix)), None)


def run_case(data, path: str = "fuzz.nn") -> str:
    """'valid' or 'rejected'; raises Crash for any other outcome."""
    try:
        text = decode(data, path) if isinstance(data, bytes) else data
        program = compile_text(text, path)
    except SpecErrors as e:
        errors = e.errors
    except SpecError as e:
        errors = [e]
    except RecursionError as e:
        raise Crash(f"RecursionError escaped: {e}") from e
    except Exception as e:  # noqa: BLE001 - this is exactly what the fuzzer looks for
        raise Crash(f"{type(e).__name__}: {e}") from e
    else:
        if not isinstance(program, Program):
            raise Crash(f"compile_text returned {type(program).__name__}")
        return "valid"
    if not errors:
        raise Crash("SpecErrors with no errors")
    lines = text.split("\n") if "text" in locals() else None
    for err in errors:
        if err.pos is None or err.pos.line < 1 or err.pos.column < 1:
            raise Crash(f"error without a position: {err.message!r} at {err.pos}")
        if lines is not None and err.pos.file == path:  # inside the file (one past the end at most)
            if err.pos.line > len(lines) or err.pos.column > len(lines[err.pos.line - 1]) + 1:
                raise Crash(f"position outside the file: {err.message!r} at {err.pos}")
        try:
            shown = err.render().split("\n")
        except Exception as e:  # noqa: BLE001
            raise Crash(f"render() failed: {type(e).__name__}: {e}") from e
        if lines is not None and err.pos.file == path and len(shown) > 1:
            want = printable(lines[err.pos.line - 1].rstrip("\r"))
            gutter = f"{err.pos.line:>5} | "
            if len(want) <= 200 and shown[1].startswith(gutter) and shown[1][len(gutter):].rstrip() != want.rstrip():
                raise Crash(f"rendered source line differs from line {err.pos.line}: {shown[1]!r} vs {want!r}")
    return "rejected"
