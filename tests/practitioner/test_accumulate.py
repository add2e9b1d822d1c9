"""accumulate = k: one optimizer step per k micro-batches of `batch`, the same update as one batch
of batch·k (gradients weighted by micro-batch size), on NumPy and torch; static checks."""
from __future__ import annotations

import numpy as np
import pytest

from specc import cli, driver
from specc.batches import micro_batches
from specc.errors import SpecError, SpecErrors
from specc.frontend import compile_text
from specc.printer import format_program

SPEC = """model m { input [2]; dense(16); relu; dropout(0.0); dense(8); tanh; dense(3); softmax }
data { source = blobs(n=103, centers=3); split = [0.9, 0.1, 0.0] }
train { loss = cross_entropy(label_smoothing=0.1); optimizer = adam(lr=0.01); l2 = 1e-3; clip_norm = 0.5
        schedule = cosine; BATCH; epochs = 3; seed = 3; dtype = float64; metrics = [accuracy] }
"""
# 92 training samples: a step of 32 three times per epoch, then 28 (micro-batches 7, 7, 7, 7)


def train(tmp_path, batch: str, backend: str, name: str):
    program = compile_text(SPEC.replace("BATCH", batch), "t.nn")
    return driver.train(program, backend=backend, out=tmp_path / name, handle_signals=False)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_same_update_as_a_k_times_larger_batch(tmp_path, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    big = train(tmp_path, "batch = 32", backend, "big")
    small = train(tmp_path, "batch = 8; accumulate = 4", backend, "small")
    assert small.steps == big.steps == 3 * 3  # ceil(92 / 32) steps per epoch
    for a, b in zip(small.history, big.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-12)
        assert a["lr"] == b["lr"]
    for k, v in big.params.items():
        np.testing.assert_allclose(small.params[k], v, rtol=1e-11, atol=1e-13, err_msg=k)
    plain = train(tmp_path, "batch = 8", backend, "plain")  # without accumulation the run differs
    assert plain.steps == 12 * 3
    assert not np.allclose(plain.params["dense_1.weight"], big.params["dense_1.weight"], rtol=1e-3)


def test_micro_batches_split_a_step_evenly():
    assert micro_batches(0, 32, 4) == [(0, 8), (8, 16), (16, 24), (24, 32)]
    assert micro_batches(0, 28, 4) == [(0, 7), (7, 14), (14, 21), (21, 28)]
    assert micro_batches(0, 10, 4) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert micro_batches(5, 7, 4) == [(5, 6), (6, 7)]
    assert micro_batches(0, 9, 1) == [(0, 9)]
    assert micro_batches(3, 3, 2) == [(3, 3)]  # an empty shard (torchrun) still runs one forward


def test_prints_and_compiles_back_and_schedule_counts_steps(tmp_path, capsys):
    text = SPEC.replace("BATCH", "batch = 8; accumulate = 4")
    p = compile_text(text, "t.nn")
    assert p.train.accumulate == 4 and p.train.step_batch == 32
    assert "accumulate = 4" in format_program(p) and compile_text(format_program(p), "t.nn") == p
    assert "accumulate" not in format_program(compile_text(SPEC.replace("BATCH", "batch = 8"), "t.nn"))
    path = tmp_path / "a.nn"
    path.write_text(text)
    assert cli.main(["schedule", str(path)]) == 0
    assert "9 steps, 3 per epoch (batch 8 x accumulate 4)" in capsys.readouterr().out


def test_accumulate_must_be_positive():
    with pytest.raises(SpecErrors) as e:
        compile_text(SPEC.replace("BATCH", "batch = 8; accumulate = 0"), "t.nn")
    assert "`accumulate` must be at least 1" in str(e.value)


def test_batchnorm_refuses_a_micro_batch_of_one(tmp_path):
    text = SPEC.replace("dropout(0.0)", "batchnorm").replace("BATCH", "batch = 8; accumulate = 4")
    text = text.replace("blobs(n=103, centers=3); split = [0.9, 0.1, 0.0]", "blobs(n=97, centers=3); split = [0.9, 0.1, 0.0]")
    program = compile_text(text, "t.nn")  # 87 training samples: the last step has 23 -> 6, 6, 6, 5 (fine)
    driver.train(program, out=tmp_path / "ok", handle_signals=False)
    bad = compile_text(text.replace("n=97", "n=39"), "t.nn")  # 35: 32 + 3 -> the last step is 1, 1, 1
    with pytest.raises(SpecError) as e:
        driver.train(bad, out=tmp_path / "bad", handle_signals=False)
    assert "micro-batch of one sample" in str(e.value) and "accumulate = 4" in str(e.value)
