"""`specc generate`: the same text on every backend, and clear errors."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from lm_spec import SPEC

HAVE_TORCH = importlib.util.find_spec("torch") is not None
HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None


def test_the_run_keeps_its_vocabulary(lm_run):
    from specc.rundir import read_vocab

    vocab = read_vocab(lm_run[1])
    assert len(vocab) == 30 and vocab.level == "char" and vocab.tokens[:3] == ("<pad>", "<unk>", " ")


def test_generate_prints_the_prompt_and_n_tokens(cli, lm_run):
    code, out, err = cli("generate", lm_run[1], "--prompt", "the q", "-n", "20", "--seed", "1")
    assert code == 0, err
    assert out.startswith("the q") and len(out.rstrip("\n")) >= 5 + 20 - 2  # a newline may be generated


def test_greedy_continues_the_memorised_text(cli, lm_run):
    code, out, err = cli("generate", lm_run[1], "--prompt", "the qu", "-n", "9", "--temperature", "0")
    assert code == 0, err
    assert out == "the quick brown\n"


backends = ["torch"] * HAVE_TORCH + ["onnx"] * HAVE_ORT


@pytest.mark.parametrize("backend", backends)
def test_every_backend_gives_the_same_tokens(cli, lm_run, backend):
    args = ("generate", lm_run[1], "--prompt", "lazy", "-n", "40", "--temperature", "1.5", "--top-k", "10",
            "--seed", "3")
    code, reference, err = cli(*args, "--backend", "numpy")
    assert code == 0, err
    code, out, err = cli(*args, "--backend", backend)
    assert code == 0, err
    assert out == reference


def test_a_prompt_with_unknown_characters_is_refused(cli, lm_run):
    code, out, err = cli("generate", lm_run[1], "--prompt", "The Quick", "-n", "5")
    assert code == 2
    assert "the prompt holds characters the model's vocabulary lacks: 'T', 'Q'" in err


def test_a_run_without_a_vocabulary_is_refused(cli, tmp_path):
    spec = tmp_path / "xor.nn"
    spec.write_text("model xor {\n    input x [2]\n    dense(2)\n    softmax\n}\n"
                    "data { source = xor() }\ntrain { loss = cross_entropy; optimizer = sgd(lr=0.1); steps = 2 }\n")
    code, _, err = cli("train", spec, "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    code, out, err = cli("generate", tmp_path / "run", "--prompt", "hi")
    assert code == 2
    assert "has no vocab.json: generate needs a run trained on text(...) data" in err


def test_a_model_that_is_not_a_language_model_is_refused(lm_run):
    from specc.errors import SpecError
    from specc.frontend import compile_text
    from specc.generate import check_language_model
    from specc.rundir import read_vocab

    classifier = SPEC.replace("    dense(30)\n", "    global_avgpool\n    dense(30)\n")
    program = compile_text(classifier, path=str(lm_run[0]))
    with pytest.raises(SpecError, match=r"generate needs a language model: scores \[T, V\]"):
        check_language_model(program, read_vocab(lm_run[1]))


@pytest.mark.parametrize("flag, value", [("-n", "-1"), ("--temperature", "-0.5"), ("--top-k", "x")])
def test_bad_numbers_are_usage_errors(cli, lm_run, flag, value):
    with pytest.raises(SystemExit) as e:
        cli("generate", lm_run[1], "--prompt", "the", flag, value)
    assert e.value.code == 2


@pytest.mark.skipif(not HAVE_ORT, reason="needs onnx and onnxruntime")
def test_export_has_the_vocabulary_and_a_symbolic_time_axis(cli, lm_run, tmp_path):
    import onnx

    from specc.api import load
    from specc.backends.onnx.runtime import session
    from specc.vocab import Vocab

    spec, run = lm_run
    out = tmp_path / "lm.onnx"
    code, _, err = cli("export", spec, "--weights", run, "-o", out)
    assert code == 0, err
    model = onnx.load(str(out))
    meta = {p.key: p.value for p in model.metadata_props}
    assert Vocab.from_json(meta["vocab"]) == Vocab.from_json((run / "vocab.json").read_text())
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", "T"]
    # a prompt of 5 tokens runs unpadded and scores its positions as the full window does (causal model)
    trained = load(run)
    x = np.array([[5, 6, 7, 8, 9, 10, 11, 12]], np.int64)
    full = trained.predict(x)
    short = session(model).run(None, {"text": x[:, :5]})[0]
    assert short.shape == (1, 5, 30)
    np.testing.assert_allclose(short, full[:, :5], rtol=1e-4, atol=1e-6)
    assert json.loads(meta["input_shape"]) == [8]
