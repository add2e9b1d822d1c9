"""Image folders in the ImageFolder layout: `dir/<class name>/<image files>`.

Classes are the subfolder names (sorted, like torchvision's ImageFolder);
files are decoded with Pillow (the `data` extra), converted to grey (1
channel) or RGB (3), resized to `size` = [H, W] (bilinear) and stored as
uint8 [N, C, H, W], channels first like every image in specc. Decoding may
run on a thread pool: Pillow releases the GIL while it decodes, but holds it
while it opens a file and parses its headers in Python, so threads pay off for
large images and cost time on small ones (the GIL passes between them at every
file; 10,000 PNGs of 32x32 on 2 cores: 28,800 images/s alone, 16,700-21,400 with two
threads; 128x128 PNGs: 3,200 alone, 6,200 with two). `_pool_pays_off` times a
few files both ways and keeps the faster. A file Pillow cannot read is named in
the error; files without an image extension are skipped (.DS_Store, notes).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import DataError
from ..ir import Pos
from .threads import usable_cpus
from .types import Raw

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
EXTRA_HINT = "pip install 'specc[data]'  (Pillow decodes images)"
BATCH = 256  # images per task handed to a worker thread
PROBE = 32   # images timed alone, then as many per thread, to choose between them


def list_images(root: str) -> tuple[list[str], list[str], list[str]]:
    """(class names, file paths, the class of each file), in sorted order."""
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        loose = [e.name for e in os.scandir(root) if e.name.lower().endswith(EXTENSIONS)]
        raise DataError(f"no class folders in {root}", Pos(root),
                        hint="put each class's images in a subfolder named after the class (dir/cat/1.png, "
                             "dir/dog/2.png)" + (f"; found {len(loose)} images directly in the folder" if loose else ""))
    files, labels = [], []
    for name in classes:
        folder = os.path.join(root, name)
        found = sorted(e.path for e in os.scandir(folder) if e.name.lower().endswith(EXTENSIONS) and e.is_file())
        if not found:
            raise DataError(f"class folder {name!r} holds no images ({', '.join(EXTENSIONS)})", Pos(folder))
        files += found
        labels += [name] * len(found)
    return classes, files, labels


def load_images(root: str, size: tuple[int, int], channels: int = 3, workers: int | None = None) -> Raw:
    try:
        from PIL import Image
    except ImportError:
        raise DataError("reading images needs Pillow, which is not installed", Pos(root), hint=EXTRA_HINT) from None
    classes, files, labels = list_images(root)
    h, w = size
    x = np.empty((len(files), channels, h, w), np.uint8)
    mode = "L" if channels == 1 else "RGB"

    def decode(span: tuple[int, int]) -> None:
        for i in range(*span):
            x[i] = decode_one(Image, files[i], mode, (w, h))

    n, workers = len(files), workers or min(8, usable_cpus())
    with ThreadPoolExecutor(workers) as pool:
        start, pooled = _pool_pays_off(pool, decode, n, workers) if workers > 1 else (0, False)
        spans = [(i, min(i + BATCH, n)) for i in range(start, n, BATCH)]
        for _ in (pool.map(decode, spans) if pooled else map(decode, spans)):
            pass  # re-raises the first DataError
    return Raw(x=x, y=np.array(labels, dtype=str), file=root,
               features=f"images of shape [{channels}, {h}, {w}]", labels=True, label_names=tuple(classes))


def _pool_pays_off(pool, decode, n: int, workers: int) -> tuple[int, bool]:
    """Decode the first files in this thread, then PROBE more per thread of the pool, and say whether
    the pool was faster per file (by a fifth, so noise does not decide). Returns (files decoded so far,
    whether the pool decodes the rest)."""
    decode((0, min(n, 1)))  # the first file also loads Pillow's plugins: not timed
    alone_end = min(n, 1 + PROBE)
    t = time.perf_counter()
    decode((1, alone_end))
    alone = (time.perf_counter() - t) / max(1, alone_end - 1)
    spans = [(lo, min(n, lo + PROBE)) for lo in range(alone_end, min(n, alone_end + workers * PROBE), PROBE)]
    if not spans:
        return alone_end, False
    t = time.perf_counter()
    for _ in pool.map(decode, spans):
        pass
    together = (time.perf_counter() - t) / (spans[-1][1] - alone_end)
    return spans[-1][1], together < 0.8 * alone


def decode_one(Image, path: str, mode: str, wh: tuple[int, int]) -> np.ndarray:
    """One file as uint8 [C, H, W]; a DataError naming the file when Pillow cannot read it."""
    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft(mode, wh)  # decode JPEGs at a reduced scale when that is enough
            if im.mode != mode:
                im = im.convert(mode)
            if im.size != wh:
                im = im.resize(wh, Image.BILINEAR)
            a = np.asarray(im, dtype=np.uint8)
    except Image.UnidentifiedImageError:
        raise DataError("cannot read the image: not a format Pillow decodes, or a damaged file", Pos(path)) from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"cannot read the image: {e}", Pos(path)) from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
