"""Epoch speed of the torch backend against hand-written PyTorch loops, same run, same device.

Models: the 784-100-10 MLP (sigmoid, cross-entropy, SGD momentum 0.9, batch 64)
and a LeNet-like CNN (conv 6@5 relu pool, conv 16@5 relu pool, 120, 84, 10),
on seeded random MNIST-shaped data (no download). Three ways to run one epoch:

* backend     TorchBackend driven like specc's driver: set_order once per epoch,
              train_step(start, stop, lr, step) per batch, losses_to_numpy at the end.
* dataloader  the textbook loop: TensorDataset + DataLoader(shuffle=True),
              .to(device) per batch, loss.item() per batch.
* resident    the best hand-written loop: data on the device, a randperm per epoch,
              gathered batches, detached losses synced once per epoch.

Like with like: both hand-written loops use the optimizer the backend builds
(backends/torch/optim.make_optimizer: fused SGD on CUDA, foreach on CPU), and all
three run under the numerics the backend sets on CUDA (IEEE float32 and
deterministic kernels, or TF32 and autotuning with --fast-math; numerics.py).

Each variant runs one warm-up epoch, then `--repeat` timed epochs interleaved with
the others (the machine is shared; interleaving spreads the noise), and the best
epoch of each is reported. Ratios are backend samples/s over each baseline's.

    python bench/torch_epoch.py                      # CPU
    python bench/torch_epoch.py --device cuda        # GPU (same script)
    python bench/torch_epoch.py --device cuda --off-device   # data staged from host memory
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from specc.backends.torch import backend as torch_backend
from specc.backends.torch.backend import TorchBackend, resolve_device
from specc.backends.torch.optim import make_optimizer
from specc.frontend import compile_text
from specc.init import initial_params

MLP = """
model mlp {
    input x [784]
    dense(100)
    sigmoid
    dense(10)
    softmax
}
train { loss = cross_entropy; optimizer = sgd(lr=0.1, momentum=0.9); batch = 64; epochs = 1 }
"""

CNN = """
model lenet_like {
    input x [1, 28, 28]
    conv2d(6, 5)
    relu
    maxpool(2)
    conv2d(16, 5)
    relu
    maxpool(2)
    flatten
    dense(120)
    relu
    dense(84)
    relu
    dense(10)
    softmax
}
train { loss = cross_entropy; optimizer = sgd(lr=0.1, momentum=0.9); batch = 64; epochs = 1 }
"""

LR = 0.1  # the specs' learning rate


def hand_model(kind: str, params: dict[str, np.ndarray]) -> nn.Module:
    """The same network written by hand (softmax folded into CrossEntropyLoss), same weights."""
    if kind == "mlp":
        net = nn.Sequential(nn.Linear(784, 100), nn.Sigmoid(), nn.Linear(100, 10))
        names = ["dense_1", None, "dense_2"]
    else:
        net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84),
                            nn.ReLU(), nn.Linear(84, 10))
        names = ["conv2d_1", None, None, "conv2d_2", None, None, None, "dense_1", None, "dense_2", None, "dense_3"]
    with torch.no_grad():
        for module, name in zip(net, names):
            if name:
                module.weight.copy_(torch.from_numpy(params[f"{name}.weight"]))
                module.bias.copy_(torch.from_numpy(params[f"{name}.bias"]))
    return net


def same_optimizer(program, net, device):
    """The optimizer the backend would build for these parameters (fused on CUDA, foreach on CPU)."""
    return make_optimizer(program.train.optimizer, list(net.parameters()), resolve_device(device))


def run_backend(program, params, x, y, device, batch, fast_math=False):
    be = TorchBackend(program, params, seed=0, device=device, fast_math=fast_math)
    be.put_data("train", x, y)
    n = len(x)

    def epoch(e):
        be.set_order(np.random.default_rng(e).permutation(n))
        handles = [be.train_step(s, min(s + batch, n), LR, s // batch) for s in range(0, n, batch)]
        return be.losses_to_numpy(handles)

    return epoch


def run_dataloader(kind, program, params, x, y, device, batch):
    dev = resolve_device(device)
    net = hand_model(kind, params).to(dev)
    opt = same_optimizer(program, net, device)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                         batch_size=batch, shuffle=True, pin_memory=dev.type == "cuda")
    loss_fn = nn.CrossEntropyLoss()

    def epoch(e):
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)
            loss = loss_fn(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        return total

    return epoch


def run_resident(kind, program, params, x, y, device, batch):
    dev = resolve_device(device)
    net = hand_model(kind, params).to(dev)
    opt = same_optimizer(program, net, device)
    xt, yt = torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev)
    n = len(x)

    def epoch(e):
        perm = torch.randperm(n, device=dev)
        losses = []
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            loss = F.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        return torch.stack(losses).cpu().numpy()

    return epoch


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def bench(kind, text, n, device, repeat, batch, fast_math=False):
    program = compile_text(text)
    params = initial_params(program)
    rng = np.random.default_rng(0)
    shape = program.model.input_shape
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    variants = {
        "backend": run_backend(program, params, x, y, device, batch, fast_math),  # sets the numerics first
        "dataloader": run_dataloader(kind, program, params, x, y, device, batch),
        "resident": run_resident(kind, program, params, x, y, device, batch),
    }
    best = {k: float("inf") for k in variants}
    for e in range(repeat + 1):
        for name, epoch in variants.items():
            _sync(device)
            t0 = time.perf_counter()
            epoch(e)
            _sync(device)
            dt = time.perf_counter() - t0
            if e > 0:  # epoch 0 warms up (allocator, kernels, caches)
                best[name] = min(best[name], dt)
    rate = {k: n / v for k, v in best.items()}
    cuda = resolve_device(device).type == "cuda"
    numerics = ("TF32, autotuned" if fast_math else "IEEE fp32, deterministic") if cuda else "fp32"
    print(f"{kind}: {n} samples, batch {batch}, device {device} ({numerics}), {'fused' if cuda else 'foreach'} "
          f"SGD in all three, best of {repeat} epochs")
    for k, v in rate.items():
        print(f"  {k:<11} {v:>12,.0f} samples/s   epoch {best[k]:.3f} s")
    print(f"  ratio backend/dataloader = {rate['backend'] / rate['dataloader']:.2f}")
    print(f"  ratio backend/resident   = {rate['backend'] / rate['resident']:.2f}")
    return rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    ap.add_argument("--samples", type=int, default=None, help="samples per epoch (default 20000 CPU MLP, 4096 CPU CNN, 60000 GPU)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["mlp", "cnn"], default=None)
    ap.add_argument("--fast-math", action="store_true", help="CUDA: TF32 and autotuned kernels (numerics.py)")
    ap.add_argument("--off-device", action="store_true",
                    help="CUDA: keep the backend's data in pinned host memory, as for data too big for the GPU "
                         "(staging.py); the baselines stay resident, so backend/resident is the staging cost")
    args = ap.parse_args()
    gpu = torch.device(args.device).type == "cuda"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    if args.off_device:
        torch_backend.DEVICE_DATA_FRACTION = 0.0  # no split counts as fitting on the device
    for kind, text, default_n in (("mlp", MLP, 60000 if gpu else 20000), ("cnn", CNN, 60000 if gpu else 4096)):
        if args.only in (None, kind):
            bench(kind, text, args.samples or default_n, args.device, args.repeat, args.batch, args.fast_math)


if __name__ == "__main__":
    main()
