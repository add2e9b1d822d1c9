"""Sequence models against hand-written PyTorch, same run, same machine.

Two language models on examples/data/shakespeare.txt (character level, windows
of 64): the char GPT of examples/char_gpt.nn (two pre-norm blocks, causal
attention, dropout 0) and a 1-layer LSTM (embedding 32, lstm 128 with
sequences=true, dense). For each:

* speed      the torch backend driven like specc's driver (put_data once,
             set_order, train_step per batch, losses synced at the end) against a
             hand-written loop of the same model: nn.Embedding, nn.LayerNorm,
             F.scaled_dot_product_attention(is_causal=True) / nn.LSTM, nn.Linear;
             data resident, the optimizer specc's torch backend builds, losses
             detached and synced once. Ratio = backend samples/s over the loop's.
* numpy      the NumPy backend against the torch backend, one thread each
             (goal >= 0.5).
* quality    both trained the same steps from the same weights on the same
             batches; validation perplexity exp(mean cross-entropy) of each
             (goal: within 3 %).
* generate   latency of one token of `specc generate` (the window of 64 tokens
             through the model, the draw in NumPy) on onnxruntime and on torch
             eager (the backend's module), one thread each.

Every timed variant runs a warm-up, then `--repeat` rounds interleaved with the
others (the machine is shared), and the best round is kept; the ratios are given in
wall-clock time and in the thread's CPU time (steadier when other processes load the machine).

    python bench/text_models.py                     # CPU, one thread (the default)
    python bench/text_models.py --device cuda       # the torch parts on a GPU
"""
from __future__ import annotations

import argparse
import os
import sys

if "--threads" not in sys.argv or sys.argv[sys.argv.index("--threads") + 1] == "1":
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # before NumPy loads its BLAS: the single-thread comparison

import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from specc.backends.numpy.backend import NumpyBackend  # noqa: E402
from specc.backends.torch.backend import TorchBackend, resolve_device  # noqa: E402
from specc.backends.torch.optim import make_optimizer  # noqa: E402
from specc.data import load_data  # noqa: E402
from specc.frontend import compile_text  # noqa: E402
from specc.generate import Sampling, sample, scores_function  # noqa: E402
from specc.init import initial_params  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = """
data { source = text("../examples/data/shakespeare.txt", level=char, context=64); split = [0.9, 0.1, 0] }
train { loss = cross_entropy; optimizer = adam(lr=0.003); batch = 32; steps = 300; seed = 0 }
"""
GPT = """
model char_gpt {
    input text [64] int
    embedding(64, 64)
    pos_embedding
    gpt_block(heads=4, d=64, ff=256, p=0)
    gpt_block(heads=4, d=64, ff=256, p=0)
    layernorm
    dense(64)
    softmax
}

block gpt_block(heads, d, ff, p=0.1) {
    residual {
        layernorm
        attention(heads, causal=true)
        dropout(p)
    }
    residual {
        layernorm
        dense(ff)
        gelu
        dense(d)
        dropout(p)
    }
}
""" + DATA
LSTM = """
model char_lstm {
    input text [64] int
    embedding(64, 32)
    lstm(128, sequences=true)
    dense(64)
    softmax
}
""" + DATA


# ---- the hand-written models ---------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x):
        B, T, C = x.shape
        split = lambda t: t.view(B, T, self.heads, C // self.heads).transpose(1, 2)  # noqa: E731
        y = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), is_causal=True)
        return self.o(y.transpose(1, 2).reshape(B, T, C))


class Positions(nn.Module):
    def __init__(self, t: int, d: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(t, d))

    def forward(self, x):
        return x + self.weight[:x.shape[1]]


class Block(nn.Module):
    def __init__(self, d: int, heads: int, ff: int):
        super().__init__()
        self.ln1, self.attn, self.ln2 = nn.LayerNorm(d), Attention(d, heads), nn.LayerNorm(d)
        self.fc1, self.fc2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class HandGPT(nn.Module):
    def __init__(self, vocab=64, t=64, d=64, heads=4, ff=256, layers=2):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), Positions(t, d)
        self.blocks = nn.ModuleList(Block(d, heads, ff) for _ in range(layers))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)

    def owners(self):
        """The modules that own parameters, in the order of the spec's layers."""
        inner = [m for b in self.blocks for m in (b.ln1, b.attn, b.ln2, b.fc1, b.fc2)]
        return [self.tok, self.pos, *inner, self.ln, self.head]

    def forward(self, x):
        h = self.pos(self.tok(x))
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln(h))


class HandLSTM(nn.Module):
    def __init__(self, vocab=64, dim=32, units=128):
        super().__init__()
        self.tok, self.lstm, self.head = nn.Embedding(vocab, dim), nn.LSTM(dim, units, batch_first=True), nn.Linear(units, vocab)

    def owners(self):
        return [self.tok, self.lstm, self.head]

    def forward(self, x):
        return self.head(self.lstm(self.tok(x))[0])


def load_in_order(net, program, params) -> nn.Module:
    """specc's initial weights into the hand model: the i-th layer with parameters -> the i-th owner."""
    layers = [layer for layer in program.model.layers if any(k.startswith(layer.name + ".") for k in params)]
    owners = net.owners()
    assert len(layers) == len(owners), ([layer.name for layer in layers], len(owners))
    with torch.no_grad():
        for layer, module in zip(layers, owners):
            for key, value in params.items():
                if key.startswith(layer.name + "."):
                    module.get_parameter(key[len(layer.name) + 1:]).copy_(torch.from_numpy(value))
    return net


# ---- training loops ------------------------------------------------------------------------

def batches(n: int, batch: int, steps: int):
    """(start, stop) of each step over one fixed shuffled order, wrapping around."""
    per_epoch = n // batch
    return [((s % per_epoch) * batch, (s % per_epoch + 1) * batch) for s in range(steps)]


def backend_trainer(cls, program, params, x, y, order, device=None):
    be = cls(program, params, seed=0, **({"device": device} if device else {}))
    be.put_data("train", x, y)
    be.set_order(order)
    lr = program.train.optimizer.args["lr"]

    def train(steps):
        return be.losses_to_numpy([be.train_step(a, b, lr, i) for i, (a, b) in enumerate(steps)])

    return train, be


def hand_trainer(net, program, x, y, order, device):
    dev = resolve_device(device)
    net = net.to(dev)
    opt = make_optimizer(program.train.optimizer, list(net.parameters()), dev)
    xt, yt = torch.from_numpy(x[order]).to(dev), torch.from_numpy(y[order]).to(dev)

    def train(steps):
        losses = []
        for a, b in steps:
            logits = net(xt[a:b])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yt[a:b].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return torch.stack(losses).cpu().numpy()

    return train


def perplexity_of(logits_fn, x, y, batch=256) -> float:
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(x), batch):
            logits = logits_fn(x[s:s + batch])
            total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y[s:s + batch]).reshape(-1),
                                           reduction="sum"))
            count += y[s:s + batch].size
    return float(np.exp(total / count))


def timed(variants: dict, steps, repeat: int) -> tuple[dict, dict]:
    """Best wall-clock and best CPU time (this thread's) of each variant over the rounds.

    With one thread everything runs on the calling thread, so its CPU time leaves out the
    time other processes of a shared machine take the core away (wall time does not)."""
    best = {k: float("inf") for k in variants}
    best_cpu = dict(best)
    for r in range(repeat + 1):
        for name, train in variants.items():
            t0, c0 = time.perf_counter(), time.thread_time()
            train(steps)
            if r:  # round 0 warms up
                best[name] = min(best[name], time.perf_counter() - t0)
                best_cpu[name] = min(best_cpu[name], time.thread_time() - c0)
    return best, best_cpu


def bench(kind: str, text: str, hand_cls, args):
    program = compile_text(text, path=os.path.join(HERE, f"{kind}.nn"))
    data = load_data(program)
    params = initial_params(program)
    x, y = data.train.x, data.train.y
    order = np.random.default_rng(0).permutation(len(x))
    batch = program.train.batch
    steps = batches(len(x), batch, args.steps)
    print(f"\n{kind}: {sum(v.size for v in params.values()):,} parameters, {len(x)} training windows of 64, "
          f"batch {batch}, vocabulary {len(data.vocab)}")

    # speed: torch backend vs the hand-written loop (and NumPy, one thread)
    backend, _ = backend_trainer(TorchBackend, program, params, x, y, order, args.device)
    hand = hand_trainer(load_in_order(hand_cls(), program, params), program, x, y, order, args.device)
    variants = {"backend": backend, "hand": hand}
    if not args.no_numpy:
        variants["numpy"], _ = backend_trainer(NumpyBackend, program, params, x, y, order)
    timing_steps = steps[:args.timing_steps]
    best, best_cpu = timed(variants, timing_steps, args.repeat)
    rate = {k: len(timing_steps) * batch / v for k, v in best.items()}
    cpu_rate = {k: len(timing_steps) * batch / v for k, v in best_cpu.items()}
    for k, v in rate.items():
        print(f"  {k:<8} {v:>10,.0f} samples/s  ({cpu_rate[k]:,.0f} per CPU second)")
    print(f"  ratio torch backend / hand-written loop = {rate['backend'] / rate['hand']:.2f}   (goal >= 1.0; "
          f"CPU time {cpu_rate['backend'] / cpu_rate['hand']:.2f})")
    if "numpy" in rate:
        print(f"  ratio numpy backend / torch backend     = {rate['numpy'] / rate['backend']:.2f}   (goal >= 0.5; "
              f"CPU time {cpu_rate['numpy'] / cpu_rate['backend']:.2f})")

    # quality: the same steps from the same weights on the same batches
    backend, be = backend_trainer(TorchBackend, program, params, x, y, order, args.device)
    net = load_in_order(hand_cls(), program, params)
    hand = hand_trainer(net, program, x, y, order, args.device)
    lb, lh = backend(steps), hand(steps)
    vx, vy = data.val.x, data.val.y
    dev = resolve_device(args.device)
    p_backend = perplexity_of(lambda xb: torch.log(torch.from_numpy(be.predict([xb], 256))), vx, vy)
    net.eval()
    p_hand = perplexity_of(lambda xb: net(torch.from_numpy(xb).to(dev)).float().cpu(), vx, vy)
    print(f"  after {len(steps)} steps: train loss backend {lb[-20:].mean():.4f}, hand {lh[-20:].mean():.4f}; "
          f"val perplexity backend {p_backend:.3f}, hand {p_hand:.3f} "
          f"({100 * (p_backend / p_hand - 1):+.2f} %, goal within 3 %)")

    # generation latency: one token of `specc generate`, onnxruntime vs torch eager
    trained = be.get_params()
    how = Sampling(0.8, 0, seed=0)
    prompt = list(x[0, :8])
    latency = {}
    for name in ("onnx", "torch"):
        scores_of = scores_function(program, trained, name, data.vocab)
        sample(scores_of, prompt, 5, 64, how)  # warm-up
        t0 = time.perf_counter()
        sample(scores_of, prompt, args.tokens, 64, how)
        latency[name] = (time.perf_counter() - t0) / args.tokens
    print(f"  generate: {1e3 * latency['onnx']:.2f} ms/token onnxruntime, {1e3 * latency['torch']:.2f} ms/token "
          f"torch eager; ratio torch/onnx = {latency['torch'] / latency['onnx']:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N (the torch backend and the hand loop)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for torch and NumPy (default 1)")
    ap.add_argument("--steps", type=int, default=300, help="training steps for the quality comparison")
    ap.add_argument("--timing-steps", type=int, default=20, help="steps per timed round")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=50, help="tokens generated for the latency")
    ap.add_argument("--no-numpy", action="store_true", help="skip the NumPy backend")
    ap.add_argument("--only", choices=["gpt", "lstm"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), device {args.device}")
    for kind, text, cls in (("gpt", GPT, HandGPT), ("lstm", LSTM, HandLSTM)):
        if args.only in (None, kind):
            bench(kind, text, cls, args)


if __name__ == "__main__":
    main()
