"""Transfer learning: init_from (a run or an npz, all shared names or `layers=[...]`), freeze, the errors
that name each layer whose shape differs, summary's marks, and continuing a finished run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from specc import cli, driver
from specc.checkpoint import load_weights, save_npz
from specc.commands.summary import format_summary
from specc.errors import SpecError, SpecErrors
from specc.frontend import compile_file, compile_text
from specc.init import initial_params
from specc.printer import format_program

BASE = """model m { input [2]; dense(8, name="hidden"); tanh; dense(3); softmax }
data { source = blobs(n=90, centers=3); split = [0.8, 0.2, 0.0] }
train { loss = cross_entropy; optimizer = adam(lr=0.01); batch = 16; epochs = 2; seed = 1; metrics = [accuracy] }
"""
HEAD2 = """model m { input [2]; dense(8, name="hidden"); tanh; dense(2); softmax }
data { source = blobs(n=90, centers=2); split = [0.8, 0.2, 0.0] }
train { loss = cross_entropy; optimizer = adam(lr=0.01); batch = 16; epochs = 2; seed = 2; metrics = [accuracy]
        TRANSFER }
"""


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    (root / "base.nn").write_text(BASE)
    driver.train(compile_file(str(root / "base.nn")), out=root / "base", handle_signals=False)
    return root


def spec(root, transfer: str, text: str = HEAD2, name: str = "ft.nn"):
    path = root / name
    path.write_text(text.replace("TRANSFER", transfer))
    return compile_file(str(path))


def test_layers_subset_is_taken_and_the_new_head_keeps_its_draw(base_run, tmp_path):
    program = spec(base_run, 'init_from = run("base", layers=[hidden])')
    assert program.train.init_from.path == str(base_run / "base")  # relative to the spec's directory
    base = load_weights(base_run / "base" / "weights.npz")
    from specc.transfer import apply_init_from

    params, keys = apply_init_from(program, initial_params(program))
    assert keys == ["hidden.weight", "hidden.bias"]
    np.testing.assert_array_equal(params["hidden.weight"], base["hidden.weight"])
    np.testing.assert_array_equal(params["dense_1.weight"], initial_params(program)["dense_1.weight"])
    run = driver.train(program, out=tmp_path / "ft", handle_signals=False)
    manifest = json.loads((tmp_path / "ft" / "manifest.json").read_text())
    assert manifest["init_from"] == {"path": str(base_run / "base"), "params": keys}
    assert not np.array_equal(run.params["hidden.weight"], base["hidden.weight"])  # not frozen: it trains on


def test_every_layer_whose_shape_differs_is_named(base_run):
    text = HEAD2.replace('dense(8, name="hidden")', 'dense(5, name="hidden")')
    program = spec(base_run, 'init_from = run("base")', text)
    from specc.transfer import apply_init_from

    with pytest.raises(SpecError) as e:
        apply_init_from(program, initial_params(program))
    message = str(e.value)
    assert "the shapes of 2 layers differ" in message
    assert "`hidden` (weight [8, 2] there, [5, 2] here; bias [8] there, [5] here)" in message
    assert "`dense_1` (weight [3, 8] there, [2, 5] here; bias [3] there, [2] here)" in message


def test_the_cli_reports_a_differing_head_with_the_layers_that_fit(base_run, capsys):
    (base_run / "ft_cli.nn").write_text(HEAD2.replace("TRANSFER", 'init_from = run("base")'))
    assert cli.main(["train", str(base_run / "ft_cli.nn"), "--out", str(base_run / "ft_cli"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "`dense_1` (weight [3, 8] there, [2, 8] here" in err and "layers=[hidden]" in err
    assert "Traceback" not in err and not (base_run / "ft_cli").exists()  # no half-made run left


@pytest.mark.parametrize("transfer,message", [
    ('init_from = run("nowhere")', "is not a run directory"),
    ('init_from = npz("missing.npz")', "does not exist"),
    ('init_from = run("empty_run")', "has no weights.npz"),
    ('init_from = npz("other.npz")', "shares no parameter names with this model"),
    ('init_from = npz("other.npz", layers=[hidden])', "has no parameters for `hidden`"),
    ('init_from = npz("nan.npz")', "non-finite values in `hidden.weight`"),
])
def test_bad_sources_are_clear_errors(base_run, transfer, message):
    (base_run / "empty_run").mkdir(exist_ok=True)
    save_npz(base_run / "other.npz", {"conv.weight": np.ones((2, 2), np.float32)})
    save_npz(base_run / "nan.npz", {"hidden.weight": np.full((8, 2), np.nan, np.float32)})
    program = spec(base_run, transfer)
    from specc.transfer import apply_init_from

    with pytest.raises(SpecError) as e:
        apply_init_from(program, initial_params(program))
    assert message in str(e.value)


@pytest.mark.parametrize("transfer,message", [
    ("freeze = [hiden]", "`freeze` names `hiden`, which is not a layer or block use of the model"),
    ("freeze = [tanh_1]", "`freeze` names `tanh_1`, which has no trainable parameters"),
    ("freeze = []", "`freeze` must name at least one layer"),
    ('init_from = run("base", layers=[dense_7])', "init_from's `layers` names `dense_7`"),
    ('init_from = checkpoint("base")', "`init_from` takes run(\"DIR\") or npz(\"FILE\")"),
])
def test_static_errors(base_run, transfer, message):
    with pytest.raises(SpecErrors) as e:
        spec(base_run, transfer)
    assert message in str(e.value)


BLOCKS = """block features(n) { dense(n); tanh; dense(n); tanh }
model m { input [2]; features(6, name="body"); dense(3); softmax }
data { source = blobs(n=90, centers=3); split = [0.8, 0.2, 0.0] }
train { loss = cross_entropy; optimizer = adamw(lr=0.01); l2 = 0.01; weight_decay = 0.1; clip_norm = 1.0
        batch = 16; epochs = 2; seed = 1; dtype = float64; freeze = [body] }
"""


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_frozen_parameters_do_not_move_and_have_no_optimizer_state(tmp_path, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    program = compile_text(BLOCKS, str(tmp_path / "b.nn"))
    assert program.train.freeze == ("dense_1", "dense_2")  # the block use `body`, expanded to its layers
    body = ["dense_1.weight", "dense_1.bias", "dense_2.weight", "dense_2.bias"]
    start = initial_params(program)
    run = driver.train(program, backend=backend, out=tmp_path / backend, handle_signals=False)
    for k in body:  # no update, no l2, no weight decay: bit for bit the initial draw
        np.testing.assert_array_equal(run.params[k], start[k].astype(np.float64), err_msg=k)
    assert not np.array_equal(run.params["dense_3.weight"], start["dense_3.weight"])
    from specc.checkpoint import load_checkpoint

    state = load_checkpoint(tmp_path / backend / "checkpoint.npz").optimizer
    assert state and not [k for k in state if k.startswith(("dense_1.", "dense_2."))]


def test_numpy_and_torch_train_the_same_unfrozen_weights(tmp_path):
    pytest.importorskip("torch")
    program = compile_text(BLOCKS, str(tmp_path / "b.nn"))
    a = driver.train(program, backend="numpy", out=tmp_path / "n", handle_signals=False)
    b = driver.train(program, backend="torch", out=tmp_path / "t", handle_signals=False)
    for k, v in a.params.items():
        np.testing.assert_allclose(b.params[k], v, rtol=1e-10, atol=1e-12, err_msg=k)


def test_summary_marks_frozen_layers_and_spec_prints_back(tmp_path):
    named = BLOCKS.replace("dense(n); tanh }", 'dense(n, name="mix"); tanh }')
    program = compile_text(named.replace("freeze = [body]", 'freeze = ["body.mix"]'), str(tmp_path / "b.nn"))
    text = format_summary(program)
    assert "body.mix   dense    [6]           42 frozen" in text
    assert "Frozen params (train.freeze): 42" in text and "Trainable params: 39" in text  # 18 + 21
    assert "Non-trainable params: 42" in text
    again = format_program(program)
    assert 'freeze = ["body.mix"]' in again and compile_text(again, str(tmp_path / "b.nn")) == program
    whole = compile_text(named, str(tmp_path / "b.nn"))
    assert whole.train.freeze == ("dense_1", "body.mix")
    assert "freeze = [dense_1, \"body.mix\"]" in format_program(whole)
    p2 = compile_text(HEAD2.replace("TRANSFER", 'init_from = npz("w.npz", layers=[hidden])'), str(tmp_path / "h.nn"))
    assert f'init_from = npz("{tmp_path / "w.npz"}", layers=[hidden])' in format_program(p2)
    assert compile_text(format_program(p2), str(tmp_path / "h.nn")) == p2


def test_a_finished_run_continues_for_more_epochs(base_run, tmp_path, capsys):
    """`--resume RUN --set train.epochs=4` after 2 epochs ends where a 4-epoch run ends (constant lr)."""
    path = base_run / "base.nn"
    assert cli.main(["train", str(path), "--out", str(tmp_path / "two"), "--quiet"]) == 0
    assert cli.main(["train", str(path), "--resume", str(tmp_path / "two"), "--set", "train.epochs=4",
                     "--quiet"]) == 0
    assert cli.main(["train", str(path), "--out", str(tmp_path / "four"), "--set", "train.epochs=4",
                     "--quiet"]) == 0
    a, b = load_weights(tmp_path / "two" / "weights.npz"), load_weights(tmp_path / "four" / "weights.npz")
    for k in b:
        np.testing.assert_array_equal(a[k], b[k])
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["continued"][0]["changed"] == {"epochs": [2, 4]} and manifest["status"] == "finished"
    capsys.readouterr()
    for change in ("train.optimizer=adam(lr=0.1)", "data.source=blobs(n=99, centers=3)"):
        rc = cli.main(["train", str(path), "--resume", str(tmp_path / "two"), "--set", "train.epochs=6",
                       "--set", change, "--quiet"])
        assert rc == 2 and "spec differs" in capsys.readouterr().err


def test_resume_does_not_read_the_source_again(base_run, tmp_path):
    """A resumed fine-tuning continues from its checkpoint: the base run may be gone by then."""
    import shutil

    shutil.copytree(base_run / "base", tmp_path / "base")
    program = spec(tmp_path, 'init_from = run("base", layers=[hidden]); freeze = [hidden]')
    with pytest.raises(driver.Interrupted):
        driver.train(program, out=tmp_path / "cut", interrupt_after=3, handle_signals=False)
    shutil.rmtree(tmp_path / "base")
    result = driver.train(program, resume=tmp_path / "cut", handle_signals=False)
    assert result.steps == 2 * 5
