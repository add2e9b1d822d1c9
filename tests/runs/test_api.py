"""The notebook API: specc.runs(dir), specc.load(run) with .spec, .metrics, .weights, .to_torch(),
.export(path), .evaluate(...), .predict(...); unknown keyword arguments are refused."""
from __future__ import annotations

import builtins

import numpy as np
import pytest

import specc

from .conftest import train


@pytest.fixture
def run_dir(specs, tmp_path):
    out = tmp_path / "runs" / "moons"
    assert train(specs["moons"], out) == 0
    return out


def test_load_gives_spec_metrics_weights_and_evaluate(run_dir):
    model = specc.load(run_dir)
    assert model.spec == (run_dir / "spec.nn").read_text()
    assert set(model.weights) == {"dense_1.weight", "dense_1.bias", "dense_2.weight", "dense_2.bias"}
    assert model.weights["dense_1.weight"].shape == (8, 2)
    metrics = model.metrics
    pd = pytest.importorskip("pandas")
    assert isinstance(metrics, pd.DataFrame) and list(metrics["epoch"]) == [1, 2, 3, 4, 5, 6]
    assert {"train_loss", "val_loss", "val_accuracy", "lr"} <= set(metrics.columns)
    import json

    test = json.loads((run_dir / "manifest.json").read_text())["result"]["test"]
    assert model.evaluate() == pytest.approx(test)
    assert set(model.evaluate(split="val")) == {"loss", "accuracy"}


def test_metrics_without_pandas_is_a_list_of_rows(run_dir, monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("no pandas")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    rows = specc.load(run_dir).metrics
    assert isinstance(rows, list) and [r["epoch"] for r in rows] == [1, 2, 3, 4, 5, 6]


def test_to_torch_and_export_agree_with_predict(run_dir, tmp_path):
    torch = pytest.importorskip("torch")
    model = specc.load(run_dir)
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    expected = model.predict(x)  # raw inputs: predict applies the saved standardization
    pre = np.load(run_dir / "preprocess.npz", allow_pickle=False)
    module = model.to_torch()
    assert isinstance(module, torch.nn.Module) and not module.training
    with torch.no_grad():
        got = module(torch.from_numpy((x - pre["mean"]) / pre["std"]).float()).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)

    ort = pytest.importorskip("onnxruntime")
    path = model.export(tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_runs_as_records_and_as_a_frame(run_dir, specs):
    root = run_dir.parent
    assert train(specs["xor"], root / "xor") == 0
    records = specc.runs(root)
    assert [r.name for r in records] == ["moons", "xor"] and records[0].status == "finished"
    pd = pytest.importorskip("pandas")
    frame = specc.runs(root, frame=True)
    assert isinstance(frame, pd.DataFrame) and list(frame["name"]) == ["moons", "xor"]
    assert {"final_val_accuracy", "best_val_loss", "test_accuracy", "status"} <= set(frame.columns)


@pytest.mark.parametrize("call", [
    lambda m, d: specc.runs(d, sort="name"),
    lambda m, d: specc.load(d, strict=True),
    lambda m, d: m.evaluate(split="test", batch=3),
    lambda m, d: m.export("x.onnx", opset=12),
    lambda m, d: m.predict(np.zeros((1, 2)), bach_size=2),
    lambda m, d: m.to_torch(device="cpu"),
])
def test_unknown_keywords_are_refused(run_dir, call):
    model = specc.load(run_dir)
    with pytest.raises(TypeError, match="unexpected keyword"):
        call(model, run_dir.parent)
