"""augment = [...]: seeded per epoch, training split only, the same batches on NumPy and torch."""
import re

import numpy as np
import pytest

from specc.data.augment import Draws, augment_epoch, hflip, noise, random_crop, random_rotate
from specc.errors import SpecError, SpecErrors
from specc.frontend import compile_text
from specc.ir import Spec

ALL = (Spec("random_crop", {"size": None, "pad": 2}), Spec("hflip", {"p": 0.5}),
       Spec("random_rotate", {"degrees": 15.0}), Spec("noise", {"std": 0.1}))


def images(n=16, shape=(2, 6, 7), seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def test_same_seed_and_epoch_same_array_and_the_input_is_untouched():
    x = images()
    before = x.copy()
    a = augment_epoch(x, ALL, seed=3, epoch=1)
    np.testing.assert_array_equal(a, augment_epoch(x, ALL, seed=3, epoch=1))
    assert not np.array_equal(a, augment_epoch(x, ALL, seed=3, epoch=2))
    assert not np.array_equal(a, augment_epoch(x, ALL, seed=4, epoch=1))
    np.testing.assert_array_equal(x, before)
    assert a.shape == x.shape and a.dtype == np.float32


def draws(n, step=0, seed=0):
    return Draws(seed, 0, step, np.arange(n))


def test_draws_depend_on_the_sample_not_on_the_batch():
    """A sample's numbers are the same whichever samples are drawn with it, in any order (streamed batches)."""
    whole = Draws(7, 2, 1, np.arange(1000))
    u, z = whole.uniform(3), whole.normal(5)
    pick = np.random.default_rng(0).permutation(1000)[:37]
    part = Draws(7, 2, 1, pick)
    np.testing.assert_array_equal(part.uniform(3), u[pick])
    np.testing.assert_array_equal(part.normal(5), z[pick])
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.02
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05
    for other in (Draws(8, 2, 1, np.arange(1000)), Draws(7, 3, 1, np.arange(1000)), Draws(7, 2, 0, np.arange(1000))):
        assert not np.array_equal(other.uniform(3), u)  # seed, epoch and step each change the numbers


def test_an_epoch_augmented_in_batches_equals_the_whole_split():
    from specc.data.augment import Augmentation
    x = images(n=2500)  # more than one CHUNK of augment_epoch
    whole = augment_epoch(x, ALL, seed=3, epoch=1)
    order = np.random.default_rng(1).permutation(len(x))
    aug = Augmentation(ALL, 3, 1)
    for lo in range(0, len(x), 96):
        rows = order[lo:lo + 96]
        np.testing.assert_array_equal(aug.apply(x[rows].copy(), rows), whole[rows])


def test_hflip_mirrors_the_chosen_images():
    x = images()
    out = hflip(x.copy(), draws(len(x)), p=1.0)
    np.testing.assert_array_equal(out, x[..., ::-1])
    np.testing.assert_array_equal(hflip(x.copy(), draws(len(x)), p=0.0), x)


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    x = images(n=30, shape=(1, 5, 5))
    np.testing.assert_array_equal(random_crop(x.copy(), draws(len(x)), pad=0), x)
    out = random_crop(x.copy(), draws(len(x), seed=1), pad=2)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for i in range(len(x)):
        windows = [padded[i, :, dy:dy + 5, dx:dx + 5] for dy in range(5) for dx in range(5)]
        assert any(np.array_equal(out[i], w) for w in windows)
    assert not np.array_equal(out, x)


def test_random_rotate_small_angles_barely_move_and_keep_the_centre():
    x = np.zeros((4, 1, 9, 9), np.float32)
    x[:, 0, 4, :] = 1.0  # a horizontal bar through the centre
    out = random_rotate(x.copy(), draws(len(x)), degrees=1e-6)
    np.testing.assert_allclose(out, x, atol=1e-5)
    out = random_rotate(x.copy(), draws(len(x)), degrees=45)
    np.testing.assert_allclose(out[:, 0, 4, 4], 1.0, atol=1e-5)
    assert not np.allclose(out, x)


def test_noise_has_the_asked_std_and_works_on_vectors():
    x = np.zeros((2000, 10), np.float32)
    out = noise(x, draws(len(x)), std=0.3)
    assert abs(out.std() - 0.3) < 0.01


MODEL = "model m {{ input {shape}\n flatten; dense(2); softmax }}\n"


@pytest.mark.parametrize("shape, augment, pattern", [
    ("[1, 6, 6]", "[random_crp(pad=2)]", "did you mean `random_crop`"),
    ("[1, 6, 6]", "[random_rotate]", "needs `degrees`"),
    ("[1, 6, 6]", "[noise(std=0)]", "noise's `std` must be > 0"),
    ("[1, 6, 6]", "[hflip(p=2)]", "hflip's `p` must be <= 1"),
])
def test_augment_is_checked_statically(shape, augment, pattern):
    with pytest.raises((SpecError, SpecErrors)) as e:
        compile_text(MODEL.format(shape=shape) + f'data {{ source = xor(); augment = {augment} }}\n')
    assert re.search(pattern, e.value.render())


@pytest.mark.parametrize("shape, augment, pattern", [
    ("[36]", "[hflip]", "hflip needs an image input"),
    ("[1, 6, 6]", "[random_crop(size=4)]", "must keep the input's size \\[6, 6\\]"),
])
def test_augment_is_checked_against_the_model(tmp_path, shape, augment, pattern):
    from specc.data import check_data
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 36), np.float32), y=np.zeros(10, np.int64))
    (tmp_path / "s.nn").write_text(MODEL.format(shape=shape) + f'data {{ source = npz("d.npz"); augment = {augment} }}\n')
    from specc.frontend import compile_file
    errors = check_data(compile_file(str(tmp_path / "s.nn")))
    assert len(errors) == 1 and re.search(pattern, errors[0].render())


def test_augment_prints_and_parses_back():
    from specc.printer import format_program
    prog = compile_text(MODEL.format(shape="[1, 6, 6]") + "data { source = xor()\n"
                        " augment = [random_crop(pad=2), hflip, random_rotate(10), noise(0.1)] }\n")
    assert [a.name for a in prog.data.augment] == ["random_crop", "hflip", "random_rotate", "noise"]
    assert compile_text(format_program(prog)).data.augment == prog.data.augment


SPEC = """
model m {
    input [1, 6, 6]
    flatten; dense(2); softmax
}
data { source = npz("d.npz"); split = [0.5, 0.25, 0.25]; augment = [random_crop(pad=1), hflip, noise(0.05)] }
train { loss = cross_entropy; optimizer = sgd(lr=0.1); batch = 8; epochs = 3; seed = 5 }
"""


def _train_recording(tmp_path, backend, monkeypatch):
    """Train and record every put_data call (split, x) of the backend."""
    import specc
    calls = []

    def wrap(cls):
        put = cls.put_data

        def recording(self, split, x, y):
            first = x[0] if isinstance(x, (list, tuple)) else x  # one array per model input
            calls.append((split, np.array(first, np.float32)))
            return put(self, split, x, y)
        monkeypatch.setattr(cls, "put_data", recording)

    if backend == "numpy":
        from specc.backends.numpy.backend import NumpyBackend as cls
    else:
        pytest.importorskip("torch")
        from specc.backends.torch.backend import TorchBackend as cls
    wrap(cls)
    model = specc.compile(str(tmp_path / "s.nn")).train(backend, out=str(tmp_path / f"run-{backend}"))
    return calls, model.history


def test_training_split_only_new_each_epoch_and_the_same_on_numpy_and_torch(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(40, 1, 6, 6)).astype(np.float32), y=rng.integers(0, 2, 40))
    (tmp_path / "s.nn").write_text(SPEC)
    calls, hist_np = _train_recording(tmp_path, "numpy", monkeypatch)
    train = [x for split, x in calls if split == "train"]
    assert len(train) == 1 + 3  # the plain split once, then one augmented copy per epoch
    assert all(not np.array_equal(a, b) for a, b in zip(train[1:], train[2:]))
    from specc.data import load_data
    from specc.frontend import compile_file
    plain = load_data(compile_file(str(tmp_path / "s.nn")))
    for split in ("val", "test"):
        [x] = [x for s, x in calls if s == split]
        np.testing.assert_array_equal(x, getattr(plain, split).x)  # never augmented
    np.testing.assert_array_equal(train[0], plain.train.x)
    torch_calls, hist_torch = _train_recording(tmp_path, "torch", monkeypatch)
    for a, b in zip(train, [x for s, x in torch_calls if s == "train"]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose([h["train_loss"] for h in hist_np], [h["train_loss"] for h in hist_torch], rtol=1e-4)
