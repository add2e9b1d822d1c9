import os

import numpy as np
import pytest

from specc.data import load_data
from specc.data.images import load_images
from specc.errors import DataError
from specc.ir import DataSpec, Source

Image = pytest.importorskip("PIL.Image")


def make_folder(root, counts={"cat": 3, "dog": 2}, size=(6, 5), fmt="png"):
    rng = np.random.default_rng(0)
    for name, n in counts.items():
        os.makedirs(root / name, exist_ok=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / name / f"{i}.{fmt}")
    return str(root)


def test_classes_from_folder_names_channels_first(tmp_path):
    root = make_folder(tmp_path / "set")
    (tmp_path / "set" / "cat" / "notes.txt").write_text("skipped")
    raw = load_images(root, (6, 5), 3)
    assert raw.x.shape == (5, 3, 6, 5) and raw.x.dtype == np.uint8
    assert list(raw.y) == ["cat"] * 3 + ["dog"] * 2 and raw.label_names == ("cat", "dog")
    first = np.asarray(Image.open(tmp_path / "set" / "cat" / "0.png"))
    np.testing.assert_array_equal(raw.x[0], first.transpose(2, 0, 1))


def test_grey_and_resize(tmp_path):
    root = make_folder(tmp_path / "set", size=(20, 10), fmt="jpg")
    raw = load_images(root, (4, 8), 1)
    assert raw.x.shape == (5, 1, 4, 8)
    img = Image.open(tmp_path / "set" / "cat" / "0.jpg").convert("L").resize((8, 4), Image.BILINEAR)
    assert np.abs(raw.x[0, 0].astype(int) - np.asarray(img).astype(int)).max() <= 3  # JPEG draft mode


def test_one_worker_and_many_agree(tmp_path):
    root = make_folder(tmp_path / "set", {"a": 40, "b": 30})
    np.testing.assert_array_equal(load_images(root, (6, 5), 3, workers=1).x, load_images(root, (6, 5), 3, workers=4).x)


def test_unreadable_file_is_named(tmp_path):
    root = make_folder(tmp_path / "set")
    bad = tmp_path / "set" / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="cannot read the image") as e:
        load_images(root, (6, 5), 3)
    assert e.value.pos.file == str(bad) and str(bad) in e.value.render()


@pytest.mark.parametrize("layout, pattern", [
    ("flat", "no class folders"),
    ("empty class", "class folder 'dog' holds no images"),
])
def test_layout_errors(tmp_path, layout, pattern):
    root = tmp_path / "set"
    if layout == "flat":
        root.mkdir()
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / "a.png")
    else:
        make_folder(root, {"cat": 1})
        (root / "dog").mkdir()
    with pytest.raises(DataError, match=pattern):
        load_images(str(root), (4, 4), 1)


def test_images_source_through_load_data(tmp_path, program):
    make_folder(tmp_path / "set", {"cat": 4, "dog": 4})
    spec = DataSpec(source=Source("images", {"dir": "set", "size": (6, 5), "channels": 3}), split=(0.5, 0.0, 0.5))
    ds = load_data(program(spec, input_shape=(3, 6, 5), path=str(tmp_path / "s.nn")))
    assert ds.classes == ("cat", "dog") and ds.train.x.shape == (4, 3, 6, 5)
    assert sorted(ds.train.y.tolist()) == [0, 0, 1, 1]  # stratified


def test_images_source_statically_checked(tmp_path):
    from specc.frontend import compile_text
    from specc.errors import SpecErrors, SpecError
    base = 'model m {{ input [1, 4, 4]\n flatten; dense(2); softmax }}\ndata {{ source = images("d", {}) }}\n'
    with pytest.raises((SpecError, SpecErrors), match="channels.*must be 1 \\(grey\\) or 3"):
        compile_text(base.format("size=[4, 4], channels=2"))
    with pytest.raises((SpecError, SpecErrors), match="needs `size`|size"):
        compile_text(base.format("channels=1"))


def test_the_pool_decodes_the_rest_only_when_it_was_faster_per_file():
    """_pool_pays_off times PROBE files alone and PROBE per thread: work that releases the GIL (as Pillow's
    decoders do: here a sleep) runs faster in the pool; work that holds it (Pillow's header parsing in
    Python: here a busy loop) does not."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from specc.data.images import PROBE, _pool_pays_off

    def sleeping(span):
        time.sleep(0.001 * (span[1] - span[0]))

    def busy(span):  # pure Python: one thread at a time, however many there are
        for _ in range(span[1] - span[0]):
            sum(range(30000))  # about 0.3 ms: a scheduler hiccup cannot decide the trial

    with ThreadPoolExecutor(4) as pool:
        assert _pool_pays_off(pool, sleeping, 1000, 4) == (1 + 5 * PROBE, True)
        assert _pool_pays_off(pool, busy, 1000, 4) == (1 + 5 * PROBE, False)
        assert _pool_pays_off(pool, busy, 10, 4) == (10, False)  # too few files to try the pool
        assert _pool_pays_off(pool, sleeping, 1 + PROBE + 3, 4) == (1 + PROBE + 3, False)  # 3 files: one thread
