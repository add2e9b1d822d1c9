"""Small real specs and a helper that trains them through the CLI, in this process."""
from __future__ import annotations

import pytest

from specc import cli
from specbuild import MOONS_NET, XOR_NET, with_train

XOR = with_train(XOR_NET, loss="mse", optimizer="sgd(lr=0.5, momentum=0.9)", batch=4, epochs=30,
                 metrics="[accuracy]", seed=1)

MOONS = with_train(MOONS_NET, loss="cross_entropy", optimizer="adam(lr=0.01)", batch=8, epochs=6,
                   metrics="[accuracy]", seed=0)

# Diverges at once (loss inf in the first epoch): `specc train` exits 3.
DIVERGES = """
model reg {
    input x [2]
    dense(8)
    relu
    dense(1)
}
data {
    source = moons(n=80, noise=0.1)
    split = [0.6, 0.2, 0.2]
}
train {
    loss = mse
    optimizer = sgd(lr=1e4)
    batch = 4
    epochs = 5
    seed = 1
}
"""


@pytest.fixture
def specs(tmp_path):
    """Paths of the spec files above, written into tmp_path."""
    paths = {}
    for name, text in (("xor", XOR), ("moons", MOONS), ("diverges", DIVERGES)):
        path = tmp_path / f"{name}.nn"
        path.write_text(text)
        paths[name] = str(path)
    return paths


def train(spec: str, out, *sets: str) -> int:
    """`specc train SPEC --out OUT --quiet --set ...`; returns the exit code."""
    argv = ["train", spec, "--out", str(out), "--quiet"]
    for s in sets:
        argv += ["--set", s]
    return cli.main(argv)
