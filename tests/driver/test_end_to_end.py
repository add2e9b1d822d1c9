"""The driver with the real front end, data loaders and NumPy backend, through the API and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("specc.frontend")
pytest.importorskip("specc.backends.numpy.backend")

from specc import api, cli, driver, evaluation  # noqa: E402
from specc.checkpoint import load_checkpoint, load_npz  # noqa: E402
from specc.frontend import compile_file  # noqa: E402
from specbuild import MOONS_NET, XOR_NET, with_train  # noqa: E402

XOR = with_train(XOR_NET, loss="bce", optimizer="sgd(lr=0.5, momentum=0.9)", batch=4, epochs=100,
                 metrics="[accuracy]", seed=1)

MOONS = with_train(MOONS_NET, loss="cross_entropy", optimizer="adam(lr=0.01)", schedule="cosine", batch=16,
                   epochs=4, metrics="[accuracy]", early_stop="patience(10)", seed=3)


@pytest.fixture
def spec(tmp_path):
    def write(text, name="model.nn"):
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def test_xor_2_4_1_learns_through_the_api(tmp_path):
    model = api.compile(XOR).train(out=tmp_path / "run")
    assert model.history[-1]["train_loss"] < 0.05
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    pred = model.predict(x).ravel() > 0.5
    assert pred.tolist() == [False, True, True, False]  # 100% accuracy
    again = api.load(tmp_path / "run")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))  # same weights, same arithmetic


def test_cli_train_then_eval(spec, tmp_path, capsys):
    path = spec(XOR)
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--out", str(out), "--quiet"]) == 0
    assert f"run directory   {out}" in capsys.readouterr().out
    assert cli.main(["eval", str(path), "--weights", str(out), "--split", "train"]) == 0
    printed = capsys.readouterr().out
    assert "accuracy  1" in printed
    assert cli.main(["eval", str(path), "--weights", str(out)]) == 2  # this spec has no test split
    assert "no test split" in capsys.readouterr().err


def test_interrupted_and_resumed_run_ends_with_the_same_weights(spec, tmp_path, capsys):
    path = spec(MOONS)
    program = compile_file(str(path))
    full = driver.train(program, out=tmp_path / "full", handle_signals=False)
    assert full.test is not None and set(full.test) == {"loss", "accuracy"}
    with pytest.raises(driver.Interrupted):
        driver.train(program, out=tmp_path / "cut", interrupt_after=5, handle_signals=False)  # 3 steps/epoch
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.npz").meta["pos"] == 2  # stopped mid-epoch
    assert cli.main(["train", str(path), "--resume", str(tmp_path / "cut"), "--quiet"]) == 0
    a, b = load_npz(tmp_path / "full" / "weights.npz"), load_npz(tmp_path / "cut" / "weights.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])  # bit for bit: params and Adam state were saved exactly
    rows = [json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]


def test_resume_with_other_overrides_is_refused(spec, tmp_path, capsys):
    path = spec(MOONS)
    with pytest.raises(driver.Interrupted):
        driver.train(compile_file(str(path)), out=tmp_path / "cut", interrupt_after=2, handle_signals=False)
    rc = cli.main(["train", str(path), "--resume", str(tmp_path / "cut"), "--set", "train.seed=4", "--quiet"])
    assert rc == 2
    assert "spec differs" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point of this test
def test_exploding_loss_exits_3_with_the_step(spec, tmp_path, capsys):
    path = spec(XOR.replace("sigmoid\n", "").replace("loss = bce", "loss = mse")
                .replace("lr=0.5, momentum=0.9", "lr=1e6").replace("accuracy", "mse"))
    assert cli.main(["train", str(path), "--out", str(tmp_path / "run"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "training loss became" in err and "at step" in err


def test_unwritable_output_exits_2(spec, tmp_path, capsys):
    path = spec(XOR)
    (tmp_path / "f").write_text("")
    assert cli.main(["train", str(path), "--out", str(tmp_path / "f" / "run"), "--quiet"]) == 2
    assert "cannot write to output directory" in capsys.readouterr().err


def test_eval_uses_the_saved_preprocessing(spec, tmp_path):
    from dataclasses import replace

    from specc.data import load_data

    program = compile_file(str(spec(MOONS)))
    driver.train(program, out=tmp_path / "run", handle_signals=False)
    data = load_data(program)
    reference = evaluation.evaluate_run(program, tmp_path / "run", split="val", data=data)
    # pretend the statistics were recomputed differently (e.g. the data file changed): eval must undo them
    pre = replace(data.preprocess, mean=data.preprocess.mean + 1.0, std=data.preprocess.std * 2.0)
    raw = data.val.x * data.preprocess.std + data.preprocess.mean
    shifted = replace(data, val=replace(data.val, x=pre.apply(raw)), preprocess=pre)
    again = evaluation.evaluate_run(program, tmp_path / "run" / "weights.npz", split="val", data=shifted)
    # float32 round trip through two affine maps: a few ulps of inputs of size ~3, far below 1e-4 in the loss
    assert again["loss"] == pytest.approx(reference["loss"], abs=1e-4)
    assert again["accuracy"] == reference["accuracy"]
    naive = shifted.val.x  # without the fix the model would see these inputs
    assert not np.allclose(naive, data.val.x, atol=0.1)


def test_api_compile_from_a_path_and_load_errors(spec, tmp_path):
    import specc
    from specc.errors import SpecError

    assert specc.compile is api.compile and specc.load is api.load  # the lazy package attributes
    compiled = api.compile(str(spec(XOR)))
    assert compiled.program.model.name == "xor"
    with pytest.raises(SpecError, match="does not exist"):
        api.load(tmp_path / "missing")


def test_cli_interrupt_exits_130_and_prints_the_resume_command(spec, tmp_path, capsys, monkeypatch):
    path, out = spec(MOONS), tmp_path / "run"
    real_init = driver.Trainer.__init__

    def init(self, *args, **kw):  # simulate Ctrl-C after two steps, deterministically
        real_init(self, *args, **dict(kw, interrupt_after=2))

    monkeypatch.setattr(driver.Trainer, "__init__", init)
    rc = cli.main(["train", str(path), "--out", str(out), "--quiet", "--set", "train.epochs=3"])
    assert rc == 130
    err = capsys.readouterr().err
    assert f"interrupted at step 2; resume with: specc train {path} --set train.epochs=3 --resume {out}" in err


def test_torch_backend_resumes_through_the_same_driver(tmp_path):
    pytest.importorskip("torch")
    from specc.frontend import compile_text

    program = compile_text(MOONS)
    opts = {"device": "cpu"}
    full = driver.train(program, backend="torch", out=tmp_path / "full", handle_signals=False, options=opts)
    with pytest.raises(driver.Interrupted):
        driver.train(program, backend="torch", out=tmp_path / "cut", interrupt_after=5, handle_signals=False,
                     options=opts)
    # no backend given: the resumed run takes it from the manifest
    resumed = driver.train(program, resume=tmp_path / "cut", handle_signals=False, options=opts)
    assert json.loads((tmp_path / "cut" / "manifest.json").read_text())["backend"] == "torch"
    for k in full.params:
        # torch's optimizer state round trip is not bit-exact (observed max 4e-9 on biases of size ~0.1,
        # about one float32 ulp); 1e-6 still catches a skipped or repeated step (changes of ~1e-3)
        np.testing.assert_allclose(resumed.params[k], full.params[k], rtol=0, atol=1e-6)
