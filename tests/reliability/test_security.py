"""Nothing unsafe is ever loaded or run (issue 8, item 5).

* every place that reads an .npz refuses an archive holding a pickled object
  array, and the pickle never runs (its payload would create a marker dir);
* the code base never unpickles, never evals/execs (AST scan, so `model.eval()`
  method calls are not false hits);
* data paths resolve against the spec's directory, and errors show them;
* `specc predict` refuses a file that fails the ONNX checker;
* Python in a spec is only ever a parse error.
"""
import ast
import os
from pathlib import Path

import numpy as np
import pytest

import faultlib
from specc import rundir

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("specc", "backends", "grammar", "bench")


class Payload:
    """Unpickling this creates `marker`: proof that a pickle was (not) loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def evil_npz(path, marker, keys=("x",), **plain):
    """An .npz whose arrays `keys` are object arrays holding the payload (np.savez pickles them)."""
    arrays = {k: np.array([Payload(marker)] * 4, dtype=object) for k in keys}
    np.savez(path, **arrays, **plain)


@pytest.fixture
def marker(tmp_path):
    m = tmp_path / "PWNED"
    yield m
    assert not m.exists(), "a pickle was loaded and ran its payload"


def test_npz_data_source_refuses_object_arrays(cli, tmp_path, marker):
    evil_npz(tmp_path / "data.npz", marker, keys=("x", "y"))
    spec = faultlib.write_spec(tmp_path, faultlib.SPEC.replace(
        "source = spirals(n=1000, noise=0.1)", 'source = npz("data.npz")'))
    code, _, err = cli("train", spec, "--out", tmp_path / "run", "--quiet")
    assert code == 2 and "Python objects" in err and str(tmp_path / "data.npz") in err


@pytest.mark.parametrize("target", [rundir.WEIGHTS, rundir.PREPROCESS])
def test_eval_refuses_pickled_run_files(cli, tiny_spec, tiny_run, marker, target):
    keys = ("dense_1.weight",) if target == rundir.WEIGHTS else ("mean",)
    good = dict(np.load(tiny_run / target, allow_pickle=False))
    evil_npz(tiny_run / target, marker, keys=keys, **{k: v for k, v in good.items() if k not in keys})
    code, _, err = cli("eval", tiny_spec, "--weights", tiny_run, "--split", "train")
    assert code == 2 and "pickled" in err and str(tiny_run / target) in err


def test_resume_refuses_a_pickled_checkpoint(cli, tiny_spec, tiny_run, marker):
    evil_npz(tiny_run / rundir.CHECKPOINT, marker, keys=("meta",))
    code, _, err = cli("train", tiny_spec, "--resume", tiny_run, "--quiet")
    assert code == 2 and "pickled" in err and str(tiny_run / rundir.CHECKPOINT) in err


def test_api_load_refuses_pickled_weights(tiny_run, marker):
    import specc
    from specc.errors import SpecError

    evil_npz(tiny_run / rundir.WEIGHTS, marker, keys=("dense_1.weight",))
    with pytest.raises(SpecError, match="pickled"):
        specc.load(tiny_run)


def test_export_and_predict_refuse_pickles(cli, tiny_spec, tiny_run, tmp_path, marker):
    pytest.importorskip("onnxruntime")
    onnx_file = tmp_path / "tiny.onnx"
    code, _, err = cli("export", tiny_spec, "--weights", tiny_run, "-o", onnx_file)
    assert code == 0, err
    evil_npz(tmp_path / "inputs.npz", marker)
    code, _, err = cli("predict", onnx_file, tmp_path / "inputs.npz")
    assert code == 2 and "Traceback" not in err
    evil_npz(tiny_run / rundir.WEIGHTS, marker, keys=("dense_1.weight",))
    code, _, err = cli("export", tiny_spec, "--weights", tiny_run, "-o", tmp_path / "again.onnx")
    assert code == 2 and str(tiny_run / rundir.WEIGHTS) in err


def test_predict_refuses_a_model_that_fails_the_onnx_checker(cli, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    # Relu reads a tensor no one produces: structurally broken, onnxruntime must never see it
    node = helper.make_node("Relu", ["nowhere"], ["y"])
    graph = helper.make_graph([node], "broken", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])])
    bad = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(bad))
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.float32))
    code, _, err = cli("predict", bad, tmp_path / "x.npy")
    assert code == 2 and str(bad) in err and "Traceback" not in err
    (tmp_path / "garbage.onnx").write_bytes(b"\x08\x07garbage" * 10)
    code, _, err = cli("predict", tmp_path / "garbage.onnx", tmp_path / "x.npy")
    assert code == 2 and "garbage.onnx" in err and "Traceback" not in err


# ---------------------------------------------------------------- the code base never unpickles or evals

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}


def unsafe_calls(source: str, filename: str) -> list[str]:
    """Unsafe constructs in one Python file, as 'file:line: what'."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{where}: imports {n}" for n in names if n and n.split(".")[0] in UNSAFE_MODULES]
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        kw = {k.arg: k.value for k in node.keywords}
        if isinstance(f, ast.Name) and f.id in ("eval", "exec"):
            found.append(f"{where}: {f.id}()")
        if isinstance(f, ast.Name) and f.id == "__import__" and not (  # a fixed module name is harmless
                node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(f"{where}: __import__() of a computed name")
        if isinstance(f, ast.Attribute):
            owner = f.value.id if isinstance(f.value, ast.Name) else None
            if f.attr == "load" and owner in ("np", "numpy"):
                v = kw.get("allow_pickle")
                if not (isinstance(v, ast.Constant) and v.value is False):
                    found.append(f"{where}: np.load without allow_pickle=False")
            if f.attr == "load" and owner == "torch":
                v = kw.get("weights_only")
                if not (isinstance(v, ast.Constant) and v.value is True):
                    found.append(f"{where}: torch.load without weights_only=True")
            if f.attr in ("load", "unsafe_load") and owner == "yaml":
                found.append(f"{where}: yaml.{f.attr}")
        for k, v in kw.items():
            if k == "allow_pickle" and not (isinstance(v, ast.Constant) and v.value is False):
                found.append(f"{where}: allow_pickle={ast.unparse(v)}")
    return found


def code_files():
    for d in CODE_DIRS:
        yield from sorted((ROOT / d).rglob("*.py"))


def test_the_code_base_never_unpickles_or_evals():
    files = list(code_files())
    assert len(files) > 30  # the scan really covers the package
    problems = [p for f in files for p in unsafe_calls(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))]
    assert not problems, "\n".join(problems)


def test_the_scan_finds_what_it_looks_for():
    bad = ("import pickle\nx = eval('1')\nexec('y=2')\nnp.load(p)\nnp.load(p, allow_pickle=True)\n"
           "torch.load(p)\ntorch.load(p, weights_only=False)\nfrom joblib import load\n__import__(name)\n")
    assert len(unsafe_calls(bad, "bad.py")) == 10
    ok = ("model.eval()\nnp.load(p, allow_pickle=False)\ntorch.load(p, weights_only=True)\nre.compile('x')\n"
          "__import__('math')\n")
    assert unsafe_calls(ok, "ok.py") == []


# ---------------------------------------------------------------- paths and spec text

def test_data_paths_resolve_against_the_spec_and_errors_show_them(cli, tmp_path, monkeypatch):
    specs = tmp_path / "specs"
    (specs / "data").mkdir(parents=True)
    rows = "a,b,label\n" + "".join(f"{i % 2},{i // 2 % 2},{(i % 2) ^ (i // 2 % 2)}\n" for i in range(16))
    (specs / "data" / "xor.csv").write_text(rows)
    text = faultlib.SPEC.replace("source = spirals(n=1000, noise=0.1)", 'source = csv("data/xor.csv", target="label")')
    text = text.replace("epochs = 120", "epochs = 1")
    spec = faultlib.write_spec(specs, text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory must not matter
    code, _, err = cli("train", spec, "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    faultlib.write_spec(specs, text.replace("data/xor.csv", "data/missing.csv"))
    code, _, err = cli("train", spec, "--out", tmp_path / "run2", "--quiet")
    assert code == 2 and str(specs / "data" / "missing.csv") in err


@pytest.mark.parametrize("payload", [
    '__import__("os").system("mkdir {m}")',
    'eval("__import__(\'os\').mkdir(\'{m}\')")',
    'exec("import os; os.mkdir(\'{m}\')")',
    '[c for c in ().__class__.__base__.__subclasses__()]',
    'lambda: os.mkdir("{m}")',
])
@pytest.mark.parametrize("where", ["lr", "layer", "top"])
def test_python_in_a_spec_is_only_a_parse_error(cli, tmp_path, marker, payload, where):
    payload = payload.format(m=marker)
    text = faultlib.SPEC
    if where == "lr":
        text = text.replace("adam(lr=0.01)", f"adam(lr={payload})")
    elif where == "layer":
        text = text.replace("    tanh\n", f"    {payload}\n")
    else:
        text = payload + "\n" + text
    spec = faultlib.write_spec(tmp_path, text)
    code, _, err = cli("check", spec)
    assert code == 2 and "Traceback" not in err and str(spec) in err
