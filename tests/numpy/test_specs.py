"""NumpyBackend on small `.nn` texts through the real front end: the classic
single-layer rules (perceptron, adaline) and a model mixing residual,
batchnorm and dropout."""
from __future__ import annotations

import numpy as np

from specc.backends.numpy.backend import NumpyBackend
from specc.frontend import compile_text
from specc.init import initial_params

AND_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
AND_Y = np.array([0, 0, 0, 1])


def backend(text, x, y, seed=0):
    prog = compile_text(text)
    be = NumpyBackend(prog, initial_params(prog, seed), seed=seed)
    be.put_data("train", x, y)
    be.set_order(np.arange(len(x)))
    return be


def test_perceptron_rule_learns_and():
    be = backend("""
model p {
    input x [2]
    dense(1, init=zeros)
    step
}
train {
    loss = mse
    optimizer = perceptron(lr=1)
    batch = 1
    epochs = 10
}
""", AND_X, AND_Y)
    # the first example (0,0) with target 0: step(0) = 0, no error, no update
    be.train_step(0, 1, 1.0, 0)
    assert not be.get_params()["dense_1.weight"].any()
    # online passes over AND; the convergence theorem bounds the number of updates
    step = 1
    for _ in range(10):
        for i in range(4):
            be.train_step(i, i + 1, 1.0, step)
            step += 1
    np.testing.assert_array_equal(be.predict(AND_X, 4)[:, 0], AND_Y)


def test_adaline_update_is_widrow_hoff():
    x = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    y = np.array([[1.0], [0.0]], np.float32)
    be = backend("""
model a {
    input x [2]
    dense(1)
    step
}
train {
    loss = mse
    optimizer = adaline(lr=0.1)
    batch = 2
    epochs = 1
}
""", x, y)
    w0, b0 = be.get_params()["dense_1.weight"], be.get_params()["dense_1.bias"]
    be.train_step(0, 2, 0.1, 0)
    z = x @ w0.T + b0  # the linear net input, not the thresholded output
    err = (y - z) / len(x)  # averaged over the batch, like every loss
    np.testing.assert_allclose(be.get_params()["dense_1.weight"], w0 + 0.1 * err.T @ x, rtol=1e-6)
    np.testing.assert_allclose(be.get_params()["dense_1.bias"], b0 + 0.1 * err.sum(0), rtol=1e-6)


def test_residual_batchnorm_dropout_model_trains():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    be = backend("""
model m {
    input x [4]
    dense(16)
    residual { dense(16); relu; batchnorm }
    dropout(0.1)
    dense(3)
    softmax
}
train {
    loss = cross_entropy
    optimizer = adam(lr=0.01)
    batch = 16
    epochs = 1
}
""", x, y)
    be.put_data("val", x, y)
    before, _ = be.evaluate("val", 64)
    for step in range(60):
        s = (step % 4) * 16
        assert np.isfinite(be.train_step(s, s + 16, 0.01, step))
    after, out = be.evaluate("val", 64)
    assert after < 0.5 * before
    assert (out.argmax(1) == y).mean() > 0.9
    assert not np.array_equal(be.get_params()["batchnorm_1.running_mean"], np.zeros(16, np.float32))
