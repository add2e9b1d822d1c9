"""Training-time augmentation: a new, randomly changed copy of the training inputs every epoch.

`augment = [random_crop(pad=4), hflip, random_rotate(15), noise(0.1)]` in the
data block. The driver calls `augment_epoch` at the start of each epoch and
hands the result to the backend, so NumPy and torch see the same batches;
validation, test and the ONNX export never see augmentation. The draws come
from `stream(seed, "augment", epoch)`: the same seed and epoch give the same
array, also after a resume.

Steps work on the preprocessed float32 inputs [N, C, H, W] (or [N, H, W]);
new pixels (padding, rotated-in corners) are 0, which after standardization
is the mean. `noise` also works on vectors.
"""
from __future__ import annotations

import numpy as np

from ..ir import Spec
from ..rng import stream

CHUNK = 1024  # samples per rotation chunk (bounds the coordinate temporaries)


def augment_epoch(x: np.ndarray, steps: tuple[Spec, ...], seed: int, epoch: int) -> np.ndarray:
    """A new augmented copy of x for this epoch (x itself is left untouched)."""
    rng = stream(seed, "augment", epoch)
    out = np.array(x, dtype=np.float32, copy=True)
    for step in steps:
        out = STEPS[step.name](out, rng, **step.args)
    return out


def image_axes(x: np.ndarray) -> np.ndarray:
    """x viewed as [N, C, H, W]; a ValueError for inputs that are not images."""
    if x.ndim == 4:
        return x
    if x.ndim == 3:
        return x[:, None]
    raise ValueError(f"needs image inputs [C, H, W] or [H, W], got samples of shape {list(x.shape[1:])}")


def random_crop(x, rng, size=None, pad=4):
    """Pad by `pad` zeros on every side, then crop `size` (the input's own [H, W]) at a random offset."""
    img = image_axes(x)
    n, c, h, w = img.shape
    ch, cw = size if size is not None else (h, w)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), np.float32)
    padded[:, :, pad:pad + h, pad:pad + w] = img
    dy = rng.integers(0, h + 2 * pad - ch + 1, n)
    dx = rng.integers(0, w + 2 * pad - cw + 1, n)
    out = np.empty((n, c, ch, cw), np.float32)
    for oy, ox in set(zip(dy.tolist(), dx.tolist())):  # one gather per distinct offset
        sel = np.flatnonzero((dy == oy) & (dx == ox))
        out[sel] = padded[sel, :, oy:oy + ch, ox:ox + cw]
    return out.reshape(x.shape[:1] + x.shape[1:-2] + (ch, cw))


def hflip(x, rng, p=0.5):
    """Mirror left-right with probability p."""
    img = image_axes(x)
    flip = rng.random(len(img)) < p
    img[flip] = img[flip][..., ::-1]
    return x


def random_rotate(x, rng, degrees):
    """Rotate about the centre by an angle uniform in [-degrees, degrees] (bilinear, zero fill)."""
    img = image_axes(x)
    n, c, h, w = img.shape
    angles = np.deg2rad(rng.uniform(-degrees, degrees, n))
    out = np.zeros_like(img)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    for s in range(0, n, CHUNK):
        a = angles[s:s + CHUNK, None, None]
        cos, sin = np.cos(a), np.sin(a)
        # inverse map: where each output pixel comes from
        sy = cos * (yy - cy) - sin * (xx - cx) + cy
        sx = sin * (yy - cy) + cos * (xx - cx) + cx
        y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
        fy, fx = (sy - y0).astype(np.float32), (sx - x0).astype(np.float32)
        k = np.arange(len(a))[:, None, None]
        acc = np.zeros((len(a), c, h, w), np.float32)
        for oy, ox, wt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
            py, px = y0 + oy, x0 + ox
            inside = (py >= 0) & (py < h) & (px >= 0) & (px < w)
            vals = img[s + k, :, np.clip(py, 0, h - 1), np.clip(px, 0, w - 1)]  # [n, h, w, c]
            acc += np.moveaxis(vals * (wt * inside)[..., None], -1, 1)
        out[s:s + CHUNK] = acc
    return out.reshape(x.shape)


def noise(x, rng, std):
    """Add Gaussian noise of standard deviation `std`."""
    x += rng.normal(0.0, std, x.shape).astype(np.float32)
    return x


STEPS = {"random_crop": random_crop, "hflip": hflip, "random_rotate": random_rotate, "noise": noise}
