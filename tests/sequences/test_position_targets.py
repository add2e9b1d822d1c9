"""Per-position probability targets [N, T, C] of a padded sequence: the loss is the mean over the
real positions of -Σ_c t_c log softmax(z)_c (softmax over the classes, the last axis), padding left
out, on NumPy and torch alike; class-index targets follow the output's padding mask too."""
from __future__ import annotations

import numpy as np
import pytest

from specc.frontend import compile_text

T, V, C = 6, 10, 4
SPEC = """model m {{
    input text [{t}] int
    embedding({v}, 8{pad})
    dense(8); tanh
    dense({c})
    {last}
}}
train {{ loss = {loss}; optimizer = sgd(lr=0.1); batch = 8; steps = 1 }}
"""


def program(loss="cross_entropy", last="softmax", pad=True):
    return compile_text(SPEC.format(t=T, v=V, c=C, loss=loss, last=last, pad=", pad=0" if pad else ""))


def tokens(n=5, seed=0):
    """Token ids in [1, V) with right padding (id 0): example i keeps T - i % T tokens."""
    x = np.random.default_rng(seed).integers(1, V, (n, T))
    for i in range(n):
        x[i, T - i % T:] = 0
    return x


def params_of(prog):
    rng = np.random.default_rng(1)
    return {key: (0.5 * rng.standard_normal(p.shape)) for key, _, p in prog.all_params()}


def probabilities(n=5, seed=2):
    return np.random.default_rng(seed).dirichlet(np.ones(C), size=(n, T))


def numpy_loss_and_grads(prog, params, x, y):
    from specc.backends.numpy.model import Network
    from specc.backends.numpy.ops import Context

    return Network(prog.model, params, prog.train.losses).loss_and_grads([x], [y], Context(True))


def torch_loss_and_grads(prog, params, x, y):
    torch = pytest.importorskip("torch")
    from specc.backends.torch.backend import TorchBackend

    backend = TorchBackend(prog, params, seed=0, device="cpu", dtype=torch.float64)
    xs, ys = [torch.from_numpy(x)], [torch.from_numpy(y)]
    hs, outs = backend.model.forward_parts(xs)
    loss = backend._loss(hs, outs, ys, xs)
    names = [name for name, _ in backend.model.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in backend.model.named_parameters()])
    return float(loss.detach()), {k: g.numpy() for k, g in zip(names, grads)}


def reference_loss(prog, params, x, y):
    """-Σ_c t_c log p_c averaged over the real positions, from the model's own softmax output."""
    from specc.backends.numpy.model import Network

    p = Network(prog.model, params).outputs([x])
    per_position = -(y * np.log(p)).sum(axis=-1)
    return float(per_position[x != 0].mean())


def test_probability_targets_are_averaged_over_the_real_positions_only():
    prog, x, y = program(), tokens(), probabilities()
    params = params_of(prog)
    loss, grads = numpy_loss_and_grads(prog, params, x, y)
    assert loss == pytest.approx(reference_loss(prog, params, x, y), rel=1e-12)
    changed = y.copy()
    changed[x == 0] = np.random.default_rng(3).dirichlet(np.ones(C), size=int((x == 0).sum()))
    loss2, grads2 = numpy_loss_and_grads(prog, params, x, changed)
    assert loss2 == loss                      # what stands at padding positions changes nothing
    for key in grads:
        np.testing.assert_array_equal(grads2[key], grads[key])


def test_probability_targets_of_an_unpadded_sequence_average_over_every_position():
    prog, y = program(), probabilities()
    x = np.random.default_rng(4).integers(1, V, (5, T))
    params = params_of(prog)
    assert numpy_loss_and_grads(prog, params, x, y)[0] == pytest.approx(reference_loss(prog, params, x, y), rel=1e-12)


@pytest.mark.parametrize("loss, last, kind", [("cross_entropy", "softmax", "probabilities"),
                                              ("cross_entropy", "softmax", "indices"),
                                              ("nll", "log_softmax", "probabilities"),
                                              ("mse", "tanh", "probabilities"),
                                              ("bce", "sigmoid", "probabilities")])
def test_numpy_and_torch_give_the_same_masked_per_position_loss(loss, last, kind):
    prog, x = program(loss, last), tokens()
    params = params_of(prog)
    # class indices unmarked at padding (as a hand-made batch): the output's padding mask leaves them out
    y = probabilities() if kind == "probabilities" else np.random.default_rng(5).integers(0, C, (5, T))
    want_loss, want = numpy_loss_and_grads(prog, params, x, y)
    got_loss, got = torch_loss_and_grads(prog, params, x, y)
    assert got_loss == pytest.approx(want_loss, rel=1e-10)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-8, atol=1e-12, err_msg=key)
    if kind == "indices":  # the same as marking the padding -1, the data loader's way
        marked = np.where(x != 0, y, -1)
        assert numpy_loss_and_grads(prog, params, x, marked)[0] == pytest.approx(want_loss, rel=1e-12)


@pytest.mark.parametrize("backend_name", ["numpy", "torch"])
def test_split_loss_with_probability_targets_is_the_mean_over_its_real_positions(backend_name):
    """Batches with different numbers of real positions are weighted by them (evaluate)."""
    if backend_name == "torch":
        pytest.importorskip("torch")
    from specc.backend_lookup import backend_class

    prog, x, y = program(), tokens(n=12), probabilities(n=12).astype(np.float32)
    params = {k: v.astype(np.float32) for k, v in params_of(prog).items()}
    options = {"device": "cpu"} if backend_name == "torch" else {}
    backend = backend_class(backend_name)(prog, params, seed=0, **options)
    backend.put_data("val", [x], [y])
    whole, _ = backend.evaluate("val", 100)
    batched, _ = backend.evaluate("val", 5)
    assert batched == pytest.approx(whole, rel=1e-5)
    assert whole == pytest.approx(reference_loss(prog, params_of(prog), x, y.astype(np.float64)), rel=1e-5)


def test_accuracy_of_probability_targets_counts_positions_by_their_argmax_class():
    """The classes are the last axis: a position is right when its argmax matches the target's."""
    from specc.ir import Spec
    from specc.metrics import compute_metrics

    outputs = probabilities(n=3, seed=6)
    targets = probabilities(n=3, seed=7)
    want = float(np.mean(outputs.argmax(-1) == targets.argmax(-1)))
    assert compute_metrics((Spec("accuracy"),), outputs, targets)["accuracy"] == pytest.approx(want)


def test_metrics_of_probability_targets_leave_out_the_padding_positions():
    """As in the loss: a padding position counts in no metric (the mask comes from the token inputs)."""
    from specc.evaluation import compute_metrics

    prog = compile_text(SPEC.format(t=T, v=V, c=C, loss="cross_entropy", last="softmax", pad=", pad=0")
                        .replace("steps = 1", "steps = 1; metrics = [accuracy]"))
    x, outputs, targets = tokens(n=5), probabilities(n=5, seed=6), probabilities(n=5, seed=7)
    real = x != 0
    want = float(np.mean((outputs.argmax(-1) == targets.argmax(-1))[real]))
    assert compute_metrics(prog, outputs, [targets], [x])["accuracy"] == pytest.approx(want)
    targets[~real] = outputs[~real]  # right answers at every padding position change nothing
    assert compute_metrics(prog, outputs, [targets], [x])["accuracy"] == pytest.approx(want)


@pytest.mark.parametrize("loss, last", [("cross_entropy", "softmax"), ("mse", "tanh")])
def test_numpy_and_torch_agree_on_probability_targets_without_a_mask(loss, last):
    """No padding mask at all (embedding without pad): every position counts, the classes are the last axis."""
    prog, x, y = program(loss, last, pad=False), tokens(), probabilities()
    params = params_of(prog)
    want_loss, want = numpy_loss_and_grads(prog, params, x, y)
    got_loss, got = torch_loss_and_grads(prog, params, x, y)
    assert got_loss == pytest.approx(want_loss, rel=1e-10)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-8, atol=1e-12, err_msg=key)
    if loss == "cross_entropy":
        from specc.backends.numpy.model import Network

        p = Network(prog.model, params).outputs([x])
        assert want_loss == pytest.approx(float(-(y * np.log(p)).sum(axis=-1).mean()), rel=1e-12)
