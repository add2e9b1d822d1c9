"""Must show: `specc summary` parameter counts, against hand counts and torch.nn models."""
from __future__ import annotations

import math
import re

import pytest

from specc.cli import main
from specc.frontend import compile_text

MLP = """
model mlp {
    input [5]
    dense(3); sigmoid
    dense(7); sigmoid
    dense(5); sigmoid
    dense(1)
}
"""

LENET = """
model lenet {
    input [1, 28, 28]
    conv2d(20, 5)
    maxpool(2)
    conv2d(50, 5)
    maxpool(2)
    flatten
    dense(500)
    relu
    dense(10)
    softmax
}
"""

NORM_NET = """
model norms {
    input [3, 8, 8]
    conv2d(4, 3, pad=same)
    batchnorm
    prelu
    flatten
    maxout(16, pieces=3)
    batchnorm
    prelu
    dense(2)
}
"""


def summary_totals(text, tmp_path, capsys):
    f = tmp_path / "m.nn"
    f.write_text(text)
    assert main(["summary", str(f)]) == 0
    out = capsys.readouterr().out
    get = lambda label: int(re.search(rf"^{label}: ([\d,]+)$", out, re.M).group(1).replace(",", ""))  # noqa: E731
    return get("Total params"), get("Trainable params"), get("Non-trainable params")


def counts(text):
    p = compile_text(text)
    trainable = sum(math.prod(q.shape) for _, _, q in p.all_params() if q.trainable)
    frozen = sum(math.prod(q.shape) for _, _, q in p.all_params() if not q.trainable)
    return trainable, frozen


def test_mlp_5_3_7_5_1_has_92_parameters(tmp_path, capsys):
    # (5*3+3) + (3*7+7) + (7*5+5) + (5*1+1) = 18 + 28 + 40 + 6
    assert summary_totals(MLP, tmp_path, capsys) == (92, 92, 0)
    assert counts(MLP) == (92, 0)


def test_lenet_hand_count(tmp_path, capsys):
    hand = (20 * 1 * 25 + 20) + (50 * 20 * 25 + 50) + (500 * 50 * 4 * 4 + 500) + (10 * 500 + 10)
    assert summary_totals(LENET, tmp_path, capsys) == (hand, hand, 0)
    shapes = [l.out_shape for l in compile_text(LENET).model.layers]
    assert shapes[:5] == [(20, 24, 24), (20, 12, 12), (50, 8, 8), (50, 4, 4), (800,)]


def test_lenet_matches_torch(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10), nn.Softmax(dim=1))
    n = sum(p.numel() for p in net.parameters())
    assert net(torch.zeros(1, 1, 28, 28)).shape == (1, 10)  # the torch twin is well-formed
    assert summary_totals(LENET, tmp_path, capsys) == (n, n, 0)
    # Per layer too, in the canonical layout ([out, in, kh, kw] / [out, in]).
    prog = compile_text(LENET)
    ours = [tuple(q.shape) for _, _, q in prog.all_params()]
    theirs = [tuple(p.shape) for p in net.parameters()]
    assert ours == theirs


def test_batchnorm_prelu_maxout_match_torch(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    # maxout(16, pieces=3) is an affine map to 16*3 units followed by a max; torch has no
    # module for it, so its twin is the Linear that holds the same parameters.
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.PReLU(), nn.Flatten(),
                        nn.Linear(4 * 8 * 8, 16 * 3), nn.BatchNorm1d(16), nn.PReLU(), nn.Linear(16, 2))
    trainable = sum(p.numel() for p in net.parameters())
    frozen = sum(b.numel() for name, b in net.named_buffers() if name.endswith(("running_mean", "running_var")))
    assert summary_totals(NORM_NET, tmp_path, capsys) == (trainable + frozen, trainable, frozen)
    prog = compile_text(NORM_NET)
    bn = [l for l in prog.all_layers() if l.op == "batchnorm"]
    assert [p.name for p in bn[0].params] == ["weight", "bias", "running_mean", "running_var"]
    assert [p.trainable for p in bn[0].params] == [True, True, False, False]
    prelu = [l for l in prog.all_layers() if l.op == "prelu"][0]
    assert prelu.params[0].shape == (1,) and prelu.params[0].init_args == {"value": 0.25}  # torch's default


SEQ_NET = """
model seq {
    input tokens [12] int
    embedding(20, 8, pad=0)
    conv1d(8, 3, pad=same)
    gru(6, sequences=true, bidirectional=true)
    maxpool(2)
    lstm(5)
    dense(3)
}
"""


def test_sequence_layers_match_torch(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    mods = [nn.Embedding(20, 8), nn.Conv1d(8, 8, 3, padding=1), nn.GRU(8, 6, batch_first=True, bidirectional=True),
            nn.LSTM(12, 5, batch_first=True), nn.Linear(5, 3)]
    n = sum(p.numel() for m in mods for p in m.parameters())
    assert summary_totals(SEQ_NET, tmp_path, capsys) == (n, n, 0)
    prog = compile_text(SEQ_NET)
    assert [l.out_shape for l in prog.model.layers[:5]] == [(12, 8), (12, 8), (12, 12), (6, 12), (5,)]
    assert [tuple(q.shape) for _, _, q in prog.all_params()] == [tuple(p.shape) for m in mods for p in m.parameters()]
    assert main(["summary", str(tmp_path / "m.nn")]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert rows["gru_1"].endswith("uniform(0.408248)") and rows["lstm_1"].endswith("uniform(0.447214)")  # 1/√units
