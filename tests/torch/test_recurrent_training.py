"""A recurrent spec trained on both backends: embedding -> lstm -> dense follows the same
loss curve and ends with the same weights on NumPy and torch.

Padded token sequences (right padding, lengths 1..T, unsorted) exercise the masks
through training: NumPy's hand-written BPTT against nn.LSTM over packed sequences.
Float64 on both: they differ by summation order only (~1e-16 per op), so 1e-9
over 30 Adam steps leaves a wide margin while any semantic difference (a gate
order, a padding step that leaks into the state) is >= 1e-3.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from specc.backends.numpy.backend import NumpyBackend  # noqa: E402
from specc.backends.torch.backend import TorchBackend  # noqa: E402
from specc.frontend import compile_text  # noqa: E402
from specc.init import initial_params  # noqa: E402
from specc.schedules import lr_table, steps_per_epoch  # noqa: E402

N, T, VOCAB, BATCH, STEPS = 40, 7, 12, 8, 30

SPEC = f"""
model order {{
    input tokens [{T}] int
    embedding({VOCAB}, 6, pad=0)
    {{layer}}
    dense(3)
    softmax
}}
train {{
    loss = cross_entropy
    optimizer = adam(lr=0.02)
    l2 = 1e-3
    batch = {BATCH}
    steps = {STEPS}
}}
"""


def data(seed=0):
    """Token ids 1..VOCAB-1 padded with 0 at the end; the class depends on the first and last real token."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, T + 1, N)
    x = rng.integers(1, VOCAB, (N, T))
    x[np.arange(T)[None, :] >= lengths[:, None]] = 0
    y = (x[:, 0] + x[np.arange(N), lengths - 1]) % 3
    return x.astype(np.int64), y.astype(np.int64)


def train(backend_cls, prog, params, x, y, **options):
    be = backend_cls(prog, {k: v.copy() for k, v in params.items()}, seed=0, **options)
    be.put_data("train", x, y)
    spe = steps_per_epoch(N, BATCH)
    lrs = lr_table(prog.train, spe)
    handles, step = [], 0
    while step < len(lrs):
        be.set_order(np.random.default_rng([7, step // spe]).permutation(N))
        for start in range(0, N, BATCH):
            if step == len(lrs):
                break
            handles.append(be.train_step(start, min(start + BATCH, N), lrs[step], step))
            step += 1
    return be, be.losses_to_numpy(handles)


@pytest.mark.parametrize("layer", ["lstm(8)", "lstm(5, bidirectional=true)", "gru(6, sequences=true); lstm(4)"])
def test_thirty_steps_same_curve_and_weights_on_numpy_and_torch(layer):
    prog = compile_text(SPEC.replace("{layer}", layer), "order.nn")
    params = {k: v.astype(np.float64) for k, v in initial_params(prog).items()}
    x, y = data()
    be_np, l_np = train(NumpyBackend, prog, params, x, y)
    be_t, l_t = train(TorchBackend, prog, params, x, y, device="cpu", dtype=np.float64)
    assert len(l_np) == STEPS and l_np[-5:].mean() < l_np[:5].mean() * 0.9  # it learns
    np.testing.assert_allclose(l_t, l_np, rtol=1e-9, atol=1e-10)
    p_t = {k: v.detach().numpy() for k, v in be_t.model.state_dict().items()}
    assert sorted(p_t) == sorted(be_np.params)
    for k, v in be_np.params.items():
        np.testing.assert_allclose(p_t[k], v, rtol=1e-9, atol=1e-10, err_msg=k)


@pytest.mark.parametrize("op,gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_initial_params_are_pytorchs_and_load_into_its_module(op, gates):
    """The compiler's parameters are exactly nn.LSTM/GRU/RNN's state_dict (keys, order, shapes),
    load with load_state_dict(strict=True), and are drawn as PyTorch draws them: U(±1/sqrt(units))."""
    units, dim = 16, 5
    prog = compile_text(f"model m {{\n input x [{T}, {dim}]\n {op}({units}, bidirectional=true)\n}}\n", "m.nn")
    params = initial_params(prog)
    module = getattr(torch.nn, op.upper())(dim, units, batch_first=True, bidirectional=True)
    own = {k.removeprefix(f"{op}_1."): v for k, v in params.items()}
    assert list(own) == list(module.state_dict())
    module.load_state_dict({k: torch.from_numpy(v) for k, v in own.items()}, strict=True)
    limit = units ** -0.5
    for key, value in own.items():
        assert value.shape == tuple(module.state_dict()[key].shape)
        assert np.abs(value).max() <= limit and value.std() > 0.4 * limit, key  # U(±limit): std limit/√3
    assert np.abs(np.concatenate([v.ravel() for v in own.values()])).max() > 0.99 * limit
    assert own["weight_ih_l0"].shape == (gates * units, dim)
    assert not np.array_equal(own["weight_ih_l0"], own["weight_ih_l0_reverse"])
