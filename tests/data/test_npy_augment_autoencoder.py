"""`augment` and autoencoders (`target = input`) with npy() streamed data: the same seed gives the same
batches, weights and metrics as the same data in memory (npz), on NumPy and on torch (prefetch thread on)."""
import numpy as np
import pytest

from specc.driver import Trainer
from specc.evaluation import evaluate_run
from specc.frontend import compile_text
from streamdata import assert_same_run, image_sets

CLASSIFIER = """
model m {
    input v [3, 6, 6]
    flatten
    dense(16); relu
    dense(3); softmax
}
data  { source = %s; split = [0.7, 0.15, 0.15]; scale = 0.01; standardize = per_channel
        augment = %s }
train { loss = cross_entropy; optimizer = adam(lr=1e-2); batch = 16; epochs = 3; seed = 4; metrics = [accuracy] }
"""

AUTOENCODER = """
model ae {
    input v [3, 6, 6]
    flatten
    dense(12); relu
    dense(108)
}
data  { source = %s; split = [0.7, 0.15, 0.15]; scale = 0.01; standardize = true; target = input%s }
train { loss = mse; optimizer = adam(lr=1e-2); batch = 16; epochs = 3; seed = 2; metrics = [mae] }
"""


@pytest.fixture
def dirs(tmp_path):
    """The same 200 images as an npy() directory of shards and as one npz archive."""
    return image_sets(tmp_path, (3, 6, 6))


def _train(spec, backend, out):
    options = {"prefetch": True} if backend == "torch" else {}
    return Trainer(compile_text(spec), backend=backend, out=out, plot="off", handle_signals=False,
                   options=options).run()


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_augmented_streamed_run_equals_in_memory_run(dirs, tmp_path, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    npy, npz = dirs
    steps = "[random_crop(pad=1), hflip, random_rotate(10), noise(0.05)]"
    a = _train(CLASSIFIER % (npy, steps), backend, tmp_path / "s")
    b = _train(CLASSIFIER % (npz, steps), backend, tmp_path / "m")
    assert_same_run(a, b)
    plain = _train(CLASSIFIER % (npz, "[]"), backend, tmp_path / "p")
    assert not np.array_equal(plain.params["dense_1.weight"], b.params["dense_1.weight"])  # augmentation did something


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("augment", ["", "; augment = [noise(0.3)]"])  # plain, and denoising
def test_streamed_autoencoder_equals_in_memory_autoencoder(dirs, tmp_path, backend, augment):
    if backend == "torch":
        pytest.importorskip("torch")
    npy, npz = dirs
    a = _train(AUTOENCODER % (npy, augment), backend, tmp_path / "s")
    b = _train(AUTOENCODER % (npz, augment), backend, tmp_path / "m")
    assert_same_run(a, b)
    assert set(a.test) >= {"loss", "mae"}
    spec = compile_text(AUTOENCODER % (npy, augment))
    assert evaluate_run(spec, a.run_dir, backend=backend) == pytest.approx(a.test, rel=1e-6)


def test_streamed_autoencoder_target_is_read_once_per_batch(dirs, tmp_path, monkeypatch):
    """The target of an autoencoder is its input: the torch chunks read it once, not twice."""
    pytest.importorskip("torch")
    from specc.data import load_data
    from specc.data.stream import OrderedChunks, StreamedArray

    data = load_data(compile_text(AUTOENCODER % (dirs[0], "")))
    reads = []
    take = StreamedArray.__getitem__
    monkeypatch.setattr(StreamedArray, "__getitem__", lambda self, key: reads.append(key) or take(self, key))
    order = np.random.default_rng(0).permutation(len(data.train))
    x, y = OrderedChunks([data.train.x, data.train.y], order, 16).read(0, 16)
    assert len(reads) == 1 and y.shape == (16, 108)
    np.testing.assert_array_equal(y, x.reshape(16, 108))
