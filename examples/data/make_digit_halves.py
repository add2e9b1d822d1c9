"""Writes examples/data/digit_halves.npz: scikit-learn's 8x8 digits split by class, for transfer_*.nn.

Keys: `low_image` [N, 1, 8, 8] and `low_digit` [N] for the digits 0-4; `high_image` and
`high_digit` for 5-9, relabelled 0-4 (class k is the digit k + 5). Images are uint8 ink 0..16.
Made from data/digits_views.npz (so no scikit-learn is needed); the same file every time:

    python examples/data/make_digit_halves.py
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

views = np.load(os.path.join(HERE, "digits_views.npz"), allow_pickle=False)
image, digit = views["image"], views["digit"]
low, high = digit < 5, digit >= 5
np.savez_compressed(os.path.join(HERE, "digit_halves.npz"),
                    low_image=image[low], low_digit=digit[low],
                    high_image=image[high], high_digit=digit[high] - 5)
print(f"low: {low.sum()} images of 0-4, high: {high.sum()} images of 5-9")
