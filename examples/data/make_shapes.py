"""Writes examples/data/shapes/: 16x16 grey images of four shapes, one folder per class.

A deliberately small training set (16 images per class) and a larger test set
(40 per class). Every shape is drawn at a random place and size (black and white, so the PNGs stay tiny), so
a model must learn the shape, not the position: what random crops and flips
teach. Run again to rebuild the folder (seeded, the same files every time):

    python examples/data/make_shapes.py
"""
import os
import shutil

import numpy as np
from PIL import Image

SIZE = 16
CLASSES = ("circle", "cross", "square", "triangle")
COUNTS = {"train": 16, "test": 40}


def draw(shape: str, rng) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    r = rng.uniform(3.0, 5.0)
    cy, cx = rng.uniform(r + 1, SIZE - r - 2, 2)
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        mask = np.abs(np.hypot(dy, dx) - r) < 0.9
    elif shape == "cross":
        mask = ((np.abs(dy) < 0.9) & (np.abs(dx) <= r)) | ((np.abs(dx) < 0.9) & (np.abs(dy) <= r))
    elif shape == "square":
        mask = (np.maximum(np.abs(dy), np.abs(dx)) <= r) & (np.maximum(np.abs(dy), np.abs(dx)) > r - 1.5)
    else:  # triangle, apex up
        inside = (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
        mask = inside & ~((dy <= r - 1.5) & (np.abs(dx) <= (dy + r) / 2 - 1.5))
    return np.where(mask, 255, 0).astype(np.uint8)


def main() -> None:
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shapes")
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(0)
    for part, n in COUNTS.items():
        for shape in CLASSES:
            folder = os.path.join(root, part, shape)
            os.makedirs(folder)
            for i in range(n):
                Image.fromarray(draw(shape, rng)).save(os.path.join(folder, f"{i:02d}.png"), optimize=True)


if __name__ == "__main__":
    main()
