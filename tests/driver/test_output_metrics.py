"""`metrics = {output: [...]}`: metrics per output of a multi-output model, columns named after it."""
import json

import numpy as np
import pytest

import specc
from specc import metrics as M
from specc.errors import SpecErrors
from specc.evaluation import compute_metrics
from specc.frontend import compile_text
from specc.printer import format_program
from specbuild import TWO_HEADS

MODEL = TWO_HEADS


def spec(metrics: str, extra: str = "") -> str:
    return MODEL + ("train {\n    loss = {digit: cross_entropy, recon: mse(weight=0.5)}\n"
                    f"    optimizer = adam(lr=0.01)\n    metrics = {metrics}\n{extra}}}\n")


def error_of(text: str) -> str:
    with pytest.raises(SpecErrors) as e:
        compile_text(text)
    return str(e.value)


def test_a_map_gives_each_output_its_metrics():
    train = compile_text(spec("{recon: [mse, mae], digit: top_k(2)}")).train
    assert train.metrics == ()
    assert [(name, [m.name for m in ms]) for name, ms in train.output_metrics] == [("recon", ["mse", "mae"]),
                                                                                    ("digit", ["top_k"])]


def test_a_list_stays_on_the_first_output():
    train = compile_text(spec("[accuracy]")).train
    assert [m.name for m in train.metrics] == ["accuracy"] and train.output_metrics == ()


def test_an_unknown_output_is_named_with_a_suggestion():
    message = error_of(spec("{digits: [accuracy]}"))
    assert "the model has no output `digits`" in message and "digit" in message


def test_top_k_is_checked_against_its_own_output():
    message = error_of(spec("{recon: top_k(7)}"))
    assert "top_k(7) needs at least 7 outputs; `recon` has 6" in message
    compile_text(spec("{recon: top_k(6)}"))  # recon has 6 units


def test_early_stopping_monitors_the_prefixed_column():
    compile_text(spec("{digit: [accuracy]}", "    early_stop = patience(2, monitor=val_digit_accuracy)\n"))
    message = error_of(spec("{digit: [accuracy]}", "    early_stop = patience(2, monitor=val_accuracy)\n"))
    assert "monitors `val_accuracy`, which is not recorded" in message and "val_digit_accuracy" in message


def test_the_map_prints_and_compiles_back():
    program = compile_text(spec("{digit: [accuracy, top_k(2)], recon: mse}"))
    again = compile_text(format_program(program))
    assert again == program


def test_each_metric_reads_its_own_output_and_target():
    program = compile_text(spec("{recon: [mse], digit: [accuracy]}"))
    rng = np.random.default_rng(0)
    probs, recon = rng.dirichlet(np.ones(3), 50).astype(np.float32), rng.standard_normal((50, 6)).astype(np.float32)
    labels, image = rng.integers(0, 3, 50), rng.standard_normal((50, 6)).astype(np.float32)
    row = compute_metrics(program, [probs, recon], [labels, image])
    assert list(row) == ["recon_mse", "digit_accuracy"]
    assert row["recon_mse"] == pytest.approx(float(np.mean((recon - image) ** 2)))
    assert row["digit_accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == labels)))
    assert row["digit_accuracy"] == pytest.approx(M.compute_metrics(program.train.output_metrics[1][1], probs,
                                                                    labels)["accuracy"])


def test_training_logs_each_outputs_metrics_and_eval_agrees(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, digit=(x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0), recon=x)
    path = tmp_path / "m.nn"
    path.write_text(MODEL + 'data { source = npz("d.npz", x="x", y=["digit", "recon"]); split = [0.6, 0.2, 0.2] }\n'
                    "train { loss = {digit: cross_entropy, recon: mse(weight=0.5)}; optimizer = adam(lr=0.01)\n"
                    "        batch = 16; epochs = 3; metrics = {digit: [accuracy], recon: [mse]} }\n")
    model = specc.compile(str(path)).train(out=tmp_path / "run", quiet=True)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert {"val_digit_accuracy", "val_recon_mse"} <= set(rows[-1])
    assert "val_accuracy" not in rows[-1]
    evaluated = model.evaluate(split="val")  # the final weights on the val split, as the last epoch's row
    assert evaluated["digit_accuracy"] == pytest.approx(rows[-1]["val_digit_accuracy"], abs=1e-12)
    # mse is a mean of float32 squares: the two passes batch the split differently
    assert evaluated["recon_mse"] == pytest.approx(rows[-1]["val_recon_mse"], rel=1e-6)
