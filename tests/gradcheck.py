"""Central finite differences, for checking the NumPy backend's hand-written backward passes."""
import numpy as np


def numeric_grad(f, arr: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d f() / d arr by central differences, perturbing `arr` in place element by element (float64)."""
    g = np.zeros_like(arr)
    for i in np.ndindex(arr.shape):
        old = arr[i]
        arr[i] = old + h
        fp = f()
        arr[i] = old - h
        fm = f()
        arr[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g
