"""Input preprocessing: x' = (x * scale - mean) / std.

Statistics are fitted on the training split only (so validation and test
numbers are honest) and travel with the weights as plain arrays
(`to_arrays` / `from_arrays`, no pickles) and into the ONNX graph.
Standardization is per input element (per feature; per pixel for images),
population std (ddof=0, as scikit-learn's StandardScaler). A feature whose
std is zero (or negligible next to its mean, i.e. constant up to rounding)
gets std 1 so it is only centred, never divided by ~0.
Per-channel statistics (`standardize = per_channel`, or given ones with
`normalize(mean, std)`) are stored with shape [C, 1, 1] for an image input
[C, H, W], so the same broadcasting applies them here, in the backends and
in the ONNX graph.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHUNK = 8192        # rows per chunk when converting / applying in place
STATS_CHUNK = 1024  # rows per float64 temporary in mean_std (6 MB for 784 features)
STATS_BYTES = 16 << 20  # and at most this many bytes of float64 per chunk (large images)
TILE = 16384        # elements per row of mean/std repeated over several samples (see Preprocess._apply_stat)


@dataclass
class Preprocess:
    scale: float | None = None
    mean: np.ndarray | None = None  # float32, the input shape
    std: np.ndarray | None = None   # float32, the input shape, never 0
    _tiles: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def identity(self) -> bool:
        return self.scale is None and self.mean is None and self.std is None

    def apply_(self, x: np.ndarray) -> np.ndarray:
        """Preprocess a float32 array [N, *input_shape] in place (no temporaries)."""
        for i in range(0, len(x), CHUNK):
            part = x[i:i + CHUNK]
            if self.scale is not None:
                part *= np.float32(self.scale)
            if self.mean is not None:
                self._apply_stat(part, self.mean, np.subtract)
            if self.std is not None:
                self._apply_stat(part, self.std, np.divide)
        return x

    def _apply_stat(self, x: np.ndarray, stat: np.ndarray, op) -> None:
        """x = op(x, stat) in place, stat broadcast over the samples of x.

        The same element-wise operation as `x -= stat` (so the same bits), run on
        several samples per NumPy inner loop: broadcasting a [784] row over a batch
        runs one short loop per sample, and per-channel [C, 1, 1] statistics one per
        image row; a copy of stat repeated over `k` samples (TILE elements) makes
        the loops long, about 40% faster on MNIST-sized rows."""
        sample = x.shape[1:]
        size = int(np.prod(sample, dtype=np.int64))
        if not x.flags.c_contiguous or size == 0 or np.broadcast_shapes(stat.shape, sample) != sample:
            op(x, stat, out=x)
            return
        k = max(1, TILE // size)
        tiled = self._tiled(stat, sample, k)
        flat = x.reshape(len(x), size)
        whole = len(x) - len(x) % k
        if whole:
            body = flat[:whole].reshape(whole // k, k * size)
            op(body, tiled, out=body)
        if whole < len(x):
            op(flat[whole:], tiled[:size], out=flat[whole:])

    def _tiled(self, stat: np.ndarray, sample: tuple, k: int) -> np.ndarray:
        """stat broadcast to one sample, flattened and repeated k times (cached: every batch uses it)."""
        key = (id(stat), sample, k)
        cached = self._tiles.get(key)
        if cached is None or cached[0] is not stat:  # `is`: an id may be reused by a new array
            cached = self._tiles[key] = (stat, np.tile(np.broadcast_to(stat, sample).reshape(-1), k))
        return cached[1]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """A preprocessed float32 copy of x (for prediction on new inputs)."""
        return self.apply_(np.array(x, dtype=np.float32, copy=True))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for preprocess.npz; absent keys mean "not applied"."""
        out = {}
        if self.scale is not None:
            out["scale"] = np.array(self.scale, np.float64)
        if self.mean is not None:
            out["mean"] = np.asarray(self.mean, np.float32)
        if self.std is not None:
            out["std"] = np.asarray(self.std, np.float32)
        return out

    @classmethod
    def from_arrays(cls, d) -> "Preprocess":
        """Inverse of to_arrays; also reads "unset" written as a NaN scale or empty mean/std."""
        scale = float(np.asarray(d["scale"])) if "scale" in d and np.size(d["scale"]) else None
        if scale is not None and not np.isfinite(scale):
            scale = None
        mean = np.asarray(d["mean"], np.float32) if "mean" in d and np.size(d["mean"]) else None
        std = np.asarray(d["std"], np.float32) if "std" in d and np.size(d["std"]) else None
        return cls(scale, mean, std)


def arrays_of(pre: Preprocess | None) -> dict[str, np.ndarray]:
    """Preprocess statistics as plain arrays for preprocess.npz (no preprocessing: no arrays)."""
    return {} if pre is None else dict(pre.to_arrays())


def arrays_per_input(data) -> list[dict[str, np.ndarray]]:
    """The preprocessing of loaded data (a Datasets), one dict of arrays per model input."""
    return [arrays_of(p) for p in data.input_preprocess]


def run_arrays(parts: list[dict], names: list[str]) -> dict[str, np.ndarray]:
    """preprocess.npz of a model with these inputs, from one dict of arrays per input: the first input's
    arrays under their own keys (so a one-input model's file is what it always was), a later input's as
    NAME.KEY (`meta.mean`)."""
    out: dict[str, np.ndarray] = {}
    for k, (part, name) in enumerate(zip(parts, names)):
        out.update({(key if k == 0 else f"{name}.{key}"): v for key, v in part.items()})
    return out


def input_arrays(arrays, names: list[str]) -> list[dict[str, np.ndarray]]:
    """Inverse of run_arrays: one dict of scale/mean/std arrays per model input."""
    out = []
    for k, name in enumerate(names):
        prefix = "" if k == 0 else f"{name}."
        out.append({key: arrays[prefix + key] for key in ("scale", "mean", "std") if prefix + key in arrays})
    return out


def unapply(arrays: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The inverse of Preprocess.apply (used to swap recomputed statistics for saved ones)."""
    x = np.asarray(x, np.float64)
    if "std" in arrays:
        x = x * arrays["std"]
    if "mean" in arrays:
        x = x + arrays["mean"]
    if "scale" in arrays:
        x = x / float(arrays["scale"])
    return x.astype(np.float32)


def same_arrays(a: dict, b: dict) -> bool:
    """Whether two sets of preprocess arrays describe the same transform (NaN equal to NaN)."""
    if set(a) != set(b):
        return False
    return all(np.asarray(a[k]).shape == np.asarray(b[k]).shape
               and np.array_equal(np.asarray(a[k]), np.asarray(b[k]), equal_nan=True) for k in a)


def mean_std(x) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and population std over axis 0, in one pass over row chunks.

    Each chunk's mean and sum of squared deviations are computed in float64 and
    merged (Chan, Golub and LeVeque's pairwise update): numerically stable (no
    E[x^2] - E[x]^2 cancellation), no float64 copy of the whole set, and one read
    of data that is streamed from disk (`x` may be a data.stream.StreamedArray).
    """
    n, mean, m2 = _moments(x, lambda c: c, axes=0)
    return _finish(mean, np.sqrt(m2 / n))


def _moments(x, view, axes) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, mean, sum of squared deviations) over `axes` of view(chunk), chunk by chunk."""
    per_row = int(np.prod(x.shape[1:], dtype=np.int64)) or 1
    rows = max(1, min(STATS_CHUNK, STATS_BYTES // (8 * per_row)))
    count, mean, m2 = 0, None, None
    for i in range(0, len(x), rows):
        c = view(np.asarray(x[i:i + rows])).astype(np.float64)
        k = int(np.prod([c.shape[a] for a in np.atleast_1d(axes)]))
        c_mean = c.mean(axis=axes, keepdims=True)
        c -= c_mean
        c *= c
        c_m2 = c.sum(axis=axes)
        c_mean = c_mean.reshape(c_m2.shape)
        if mean is None:
            count, mean, m2 = k, c_mean, c_m2
            continue
        delta = c_mean - mean
        total = count + k
        mean = mean + delta * (k / total)
        m2 = m2 + c_m2 + delta * delta * (count * k / total)
        count = total
    return count, mean, m2


def _finish(mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 statistics; constant features (std exactly 0, or rounding noise far below the value) get std 1."""
    std = np.array(std, np.float64)
    std[(std == 0) | (std <= 1e-6 * np.abs(mean))] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def channel_shape(input_shape) -> tuple[int, ...]:
    """The shape of per-channel statistics: [C, 1, 1] for [C, H, W], [1, 1] for [H, W], [F] for [F]."""
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 1:
        return shape  # a vector has no channels: per feature
    if len(shape) == 2:
        return (1, 1)
    return (shape[0],) + (1,) * (len(shape) - 1)


def mean_std_per_channel(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std per channel (axis 1 of [N, C, ...]), over samples and positions (one pass)."""
    if x.ndim == 2:
        return mean_std(x)
    stats_shape = channel_shape(x.shape[1:])
    channels = stats_shape[0] if x.ndim > 3 else 1
    n, mean, m2 = _moments(x, lambda c: c.reshape(len(c), channels, -1), axes=(0, 2))
    mean, std = _finish(mean, np.sqrt(m2 / n))
    return mean.reshape(stats_shape), std.reshape(stats_shape)


def given_stats(mean, std, input_shape) -> tuple[np.ndarray, np.ndarray]:
    """`normalize(mean, std)` as statistics of the per-channel shape; a ValueError when the lengths do not fit."""
    shape = channel_shape(input_shape)
    out = []
    for name, v in (("mean", mean), ("std", std)):
        v = np.asarray(v, np.float32).reshape(-1)
        if len(v) == 1:
            v = np.full(shape, v[0], np.float32)
        elif len(v) == shape[0] and (len(shape) == 1 or len(input_shape) > 2):
            v = v.reshape(shape)
        else:
            what = f"{shape[0]} channels" if len(input_shape) > 2 else (
                f"{shape[0]} features" if len(shape) == 1 else "one channel")
            raise ValueError(f"normalize(): {name} has {len(v)} values; the input {list(input_shape)} has {what}")
        out.append(v)
    return out[0], out[1]


def read_saved(run_dir, inputs) -> list[dict[str, np.ndarray]] | None:
    """A run's preprocess.npz, checked against the model's inputs: one dict of arrays per input, or None
    when the run has no such file."""
    from pathlib import Path

    from ..checkpoint import load_npz
    from ..rundir import PREPROCESS

    path = Path(run_dir) / PREPROCESS
    return check_saved_inputs(load_npz(path), inputs, path) if path.exists() else None


def check_saved_inputs(arrays, inputs, path) -> list[dict[str, np.ndarray]]:
    """check_saved for each model input's part of a run's preprocess.npz; its arrays, one dict per input."""
    parts = input_arrays(arrays, [i.name for i in inputs])
    for k, (inp, part) in enumerate(zip(inputs, parts)):
        check_saved(part, inp.shape, path, prefix="" if k == 0 else f"{inp.name}.")
    return parts


def check_saved(arrays: dict, input_shape, path, prefix: str = "") -> None:
    """A run's preprocess.npz must fit the model: numeric, finite, mean/std of the input's shape.

    A hand-edited or mismatched file is a clear DataError here, not a broadcasting
    error inside a backend or a silently wrong model in an export.
    """
    from ..errors import DataError
    from ..ir import Pos

    where = Pos(file=str(path))
    for key in ("scale", "mean", "std"):
        v = arrays.get(key)
        if v is None or np.size(v) == 0:
            continue
        v = np.asarray(v)
        if v.dtype.kind not in "biuf":
            raise DataError(f"`{prefix}{key}` holds {v.dtype} values, not numbers", where)
        if key == "scale":
            if v.size != 1:
                raise DataError(f"`{prefix}scale` has shape {list(v.shape)}; it is one number", where)
            continue
        fits = (tuple(input_shape), channel_shape(input_shape)) if input_shape is not None else ()
        if input_shape is not None and tuple(v.shape) not in fits and v.size != 1:  # per feature or per channel
            raise DataError(f"`{prefix}{key}` has shape {list(v.shape)}, but the model's input is {list(input_shape)}",
                            where, hint="was this file saved by a run of another spec?")
        if np.isnan(v).all() and v.size == 1:
            continue  # "unset", as written by to_arrays
        if not np.isfinite(v).all() or (key == "std" and (v <= 0).any()):
            raise DataError(f"`{prefix}{key}` holds non-finite{' or non-positive' if key == 'std' else ''} values",
                            where)
