"""The same small image set twice, as an npy() directory of shards and as one npz archive: the streamed
and in-memory runs of the streaming tests read these and must agree."""
import numpy as np


def image_sets(tmp_path, shape, n: int = 200) -> tuple[str, str]:
    """(`npy("DIR")`, `npz("FILE")`) source texts for n uint8 images of `shape` and 3 classes,
    x in 3 shards (DIR/x/0.npy ...) and y in DIR/y.npy."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (n, *shape)).astype(np.uint8)
    y = (x[:, 0].mean((1, 2)) > 127).astype(np.int64) + (x[:, 1].mean((1, 2)) > 127)
    d = tmp_path / "d"
    (d / "x").mkdir(parents=True)
    for k, part in enumerate(np.array_split(x, 3)):
        np.save(d / "x" / f"{k}.npy", part)
    np.save(d / "y.npy", y)
    np.savez(tmp_path / "m.npz", x=x, y=y)
    return f'npy("{d}")', f'npz("{tmp_path / "m.npz"}")'


def assert_same_run(streamed, memory) -> None:
    """Two RunResults are the same run, bit for bit: steps, weights, training losses and test metrics."""
    assert streamed.steps == memory.steps
    for k in memory.params:
        np.testing.assert_array_equal(streamed.params[k], memory.params[k], err_msg=k)
    assert [r["train_loss"] for r in streamed.history] == [r["train_loss"] for r in memory.history]
    assert streamed.test == memory.test
