"""Training-time augmentation: a new, randomly changed copy of the training inputs every epoch.

`augment = [random_crop(pad=4), hflip, random_rotate(15), noise(0.1)]` in the
data block. The driver calls `augment_epoch` at the start of each epoch and
hands the result to the backend, so NumPy and torch see the same batches;
validation, test and the ONNX export never see augmentation.

Every random number is a function of (seed, epoch, step, sample, element)
(`Draws`: SplitMix64 of a counter, see below), not the next value of a
sequential generator. So a sample gets the same crop, flip, angle and noise
whether the whole split is augmented at once (data in memory) or batch by
batch in the epoch's order (`npy()` data, data/stream.py, where the split is
never in memory): the same seed gives the same batches either way, also after
a resume.

Steps work on the preprocessed float32 inputs [N, C, H, W] (or [N, H, W]);
new pixels (padding, rotated-in corners) are 0, which after standardization
is the mean. `noise` also works on vectors.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..ir import Spec

CHUNK = 1024  # samples augmented at a time (bounds the temporaries: noise draws 8-byte counters per element)

_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment (the golden ratio)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


class Draws:
    """Uniform and normal numbers for one step of one epoch, addressed by sample position.

    Value j of sample p is SplitMix64's output number p * width + j + 1 for a
    key derived from (seed, epoch, step): a well-tested generator (Steele et al.,
    2014), read at any position without the ones before it. A batch of any
    samples, in any order, gets exactly the numbers the whole split gets.
    """

    def __init__(self, seed: int, epoch: int, step: int, positions):
        state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(b"augment"), int(epoch), int(step)])
        self.key = state.generate_state(1, np.uint64)[0]
        self.positions = np.asarray(positions, np.uint64).reshape(-1)

    def _bits(self, width: int) -> np.ndarray:
        """uint64 [n, width]: the mixed counters of these samples' `width` values."""
        counter = self.positions[:, None] * np.uint64(width) + np.arange(1, width + 1, dtype=np.uint64)
        z = counter * _GAMMA + self.key  # uint64 arrays wrap around, as the algorithm wants
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))

    def uniform(self, width: int = 1) -> np.ndarray:
        """float64 [n, width] in [0, 1) (53 random bits each)."""
        return (self._bits(width) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53

    def normal(self, width: int) -> np.ndarray:
        """float64 [n, width], standard normal (Box-Muller on the two 32-bit halves of each number)."""
        z = self._bits(width)
        u1 = ((z >> np.uint64(32)).astype(np.float64) + 0.5) * 2.0 ** -32  # in (0, 1): log is finite
        u2 = (z & np.uint64(0xFFFFFFFF)).astype(np.float64) * 2.0 ** -32
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@dataclass(frozen=True)
class Augmentation:
    """The steps of one epoch; `apply` augments any samples, given their positions in the split."""

    steps: tuple
    seed: int
    epoch: int

    def apply(self, x: np.ndarray, positions) -> np.ndarray:
        """x (float32 [n, ...], changed in place or replaced) augmented as samples `positions` of the split."""
        positions = np.asarray(positions)
        for k, step in enumerate(self.steps):
            x = STEPS[step.name](x, Draws(self.seed, self.epoch, k, positions), **step.args)
        return x


def augment_epoch(x, steps: tuple[Spec, ...], seed: int, epoch: int):
    """This epoch's augmented copy of x (x itself is left untouched).

    A streamed split (data/stream.py) is not copied: the result augments each batch as it is read.
    """
    augmentation = Augmentation(tuple(steps), int(seed), int(epoch))
    if hasattr(x, "with_augmentation"):  # a StreamedArray
        return x.with_augmentation(augmentation)
    out = np.empty(x.shape, np.float32)
    for lo in range(0, len(x), CHUNK):
        hi = min(lo + CHUNK, len(x))
        out[lo:hi] = augmentation.apply(np.array(x[lo:hi], dtype=np.float32, copy=True), np.arange(lo, hi))
    return out


def image_axes(x: np.ndarray) -> np.ndarray:
    """x viewed as [N, C, H, W]; a ValueError for inputs that are not images."""
    if x.ndim == 4:
        return x
    if x.ndim == 3:
        return x[:, None]
    raise ValueError(f"needs image inputs [C, H, W] or [H, W], got samples of shape {list(x.shape[1:])}")


def random_crop(x, draws: Draws, size=None, pad=4):
    """Pad by `pad` zeros on every side, then crop `size` (the input's own [H, W]) at a random offset."""
    img = image_axes(x)
    n, c, h, w = img.shape
    ch, cw = size if size is not None else (h, w)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), np.float32)
    padded[:, :, pad:pad + h, pad:pad + w] = img
    u = draws.uniform(2)
    dy = (u[:, 0] * (h + 2 * pad - ch + 1)).astype(np.int64)
    dx = (u[:, 1] * (w + 2 * pad - cw + 1)).astype(np.int64)
    out = np.empty((n, c, ch, cw), np.float32)
    for oy, ox in set(zip(dy.tolist(), dx.tolist())):  # one gather per distinct offset
        sel = np.flatnonzero((dy == oy) & (dx == ox))
        out[sel] = padded[sel, :, oy:oy + ch, ox:ox + cw]
    return out.reshape(x.shape[:1] + x.shape[1:-2] + (ch, cw))


def hflip(x, draws: Draws, p=0.5):
    """Mirror left-right with probability p."""
    img = image_axes(x)
    flip = draws.uniform(1)[:, 0] < p
    img[flip] = img[flip][..., ::-1]
    return x


def random_rotate(x, draws: Draws, degrees):
    """Rotate about the centre by an angle uniform in [-degrees, degrees] (bilinear, zero fill)."""
    img = image_axes(x)
    n, c, h, w = img.shape
    angles = np.deg2rad(-degrees + 2.0 * degrees * draws.uniform(1)[:, 0])
    cos_all, sin_all = np.cos(angles), np.sin(angles)
    out = np.zeros_like(img)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    for s in range(0, n, CHUNK):
        cos, sin = cos_all[s:s + CHUNK, None, None], sin_all[s:s + CHUNK, None, None]
        # inverse map: where each output pixel comes from
        sy = cos * (yy - cy) - sin * (xx - cx) + cy
        sx = sin * (yy - cy) + cos * (xx - cx) + cx
        y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
        fy, fx = (sy - y0).astype(np.float32), (sx - x0).astype(np.float32)
        k = np.arange(len(cos))[:, None, None]
        acc = np.zeros((len(cos), c, h, w), np.float32)
        for oy, ox, wt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
            py, px = y0 + oy, x0 + ox
            inside = (py >= 0) & (py < h) & (px >= 0) & (px < w)
            vals = img[s + k, :, np.clip(py, 0, h - 1), np.clip(px, 0, w - 1)]  # [n, h, w, c]
            acc += np.moveaxis(vals * (wt * inside)[..., None], -1, 1)
        out[s:s + CHUNK] = acc
    return out.reshape(x.shape)


def noise(x, draws: Draws, std):
    """Add Gaussian noise of standard deviation `std`."""
    per_sample = int(np.prod(x.shape[1:], dtype=np.int64))
    x += (draws.normal(per_sample) * std).astype(np.float32).reshape(x.shape)
    return x


STEPS = {"random_crop": random_crop, "hflip": hflip, "random_rotate": random_rotate, "noise": noise}
