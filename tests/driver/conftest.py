"""A fake backend and hand-built programs for testing the driver without a real backend.

FakeBackend trains a linear model y = W x + b with mse and SGD + momentum in
float32 NumPy (like the real backends, so a float32 checkpoint is exact),
so losses really fall, optimizer state really matters for resume, and
every call the driver makes is recorded for inspection.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from specc.data.types import Split
from specc.ir import DataSpec, EarlyStop, Input, Layer, Model, Output, OutputLoss, Param, Program, Spec, TrainSpec


class Handle:
    """A loss handle the driver must not read directly (only via losses_to_numpy)."""

    def __init__(self, value):
        self._value = value


class FakeBackend:
    name = "fake"
    instances: list = []

    def __init__(self, program, params, *, seed, nan_at=None, poison_at=None, val_losses=None, on_step=None,
                 **options):
        self.program, self.seed, self.options = program, seed, options
        self.params = {k: np.array(v, np.float32) for k, v in params.items()}
        self.velocity = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.opt_steps = 0
        self.data, self.order = {}, None
        self.nan_at, self.poison_at, self.val_losses, self.on_step = nan_at, poison_at, val_losses, on_step
        self.calls = SimpleNamespace(orders=[], steps=[], groups=[], evaluations=[])
        FakeBackend.instances.append(self)

    def put_data(self, split, x, y):
        """The model has one input and one output: the lists hold one array each."""
        (x,), y = x, (None if y is None else y[0])
        self.data[split] = (np.asarray(x, np.float32), None if y is None else np.asarray(y, np.float32))

    def set_order(self, order):
        self.order = np.asarray(order)
        self.calls.orders.append(self.order.copy())

    def _forward(self, x):
        return x @ self.params["dense_1.weight"].T + self.params["dense_1.bias"]

    def train_step(self, start, stop, lr, step):
        self.calls.steps.append((start, stop, lr, step))
        x, y = self.data["train"]
        idx = self.order[start:stop]
        x, y = x[idx], y[idx]
        err = self._forward(x) - y
        loss = float(np.mean(err ** 2))
        grads = {"dense_1.weight": 2 * err.T @ x / err.size, "dense_1.bias": 2 * err.sum(0) / err.size}
        if self.nan_at is not None and step >= self.nan_at:
            loss = float("nan")
            grads = {k: np.full_like(g, np.nan) for k, g in grads.items()}
        for k, g in grads.items():
            self.velocity[k] = np.float32(0.9) * self.velocity[k] + g.astype(np.float32)
            self.params[k] -= np.float32(lr) * self.velocity[k]
        self.opt_steps += 1
        if self.poison_at is not None and step == self.poison_at:  # weights break, this step's loss does not
            self.params["dense_1.weight"][0, 0] = np.inf
        if self.on_step is not None:
            self.on_step(step)
        return Handle(loss)

    def losses_to_numpy(self, handles):
        self.calls.groups.append(len(handles))
        return np.array([h._value for h in handles], np.float64)

    def evaluate(self, split, batch_size):
        x, y = self.data[split]
        out = self._forward(x)
        self.calls.evaluations.append((split, {k: v.copy() for k, v in self.params.items()}))
        loss = float(np.mean((out - y) ** 2))
        if split == "val" and self.val_losses is not None:
            loss = self.val_losses[sum(1 for s, _ in self.calls.evaluations if s == "val") - 1]
        return loss, out

    def predict(self, x, batch_size):
        return self._forward(np.asarray(x, np.float32))

    def get_params(self):
        return {k: v.astype(np.float32) for k, v in self.params.items()}

    def set_params(self, params):
        self.params = {k: np.array(v, np.float32) for k, v in params.items()}

    def optimizer_state(self):
        state = {f"{k}.momentum_buffer": v.copy() for k, v in self.velocity.items()}
        state["step"] = np.array(self.opt_steps)
        return state

    def load_optimizer_state(self, state):
        self.velocity = {k: np.array(state[f"{k}.momentum_buffer"]) for k in self.params}
        self.opt_steps = int(state["step"])

    def is_main_process(self):
        return self.options.get("main", True)

    def nonfinite_layer(self):
        return "dense_1"


def make_program(**train_kw) -> Program:
    dense = Layer("dense_1", "dense", {"units": 1, "bias": True, "init": "glorot_normal"}, ("x",), ((2,),), (1,),
                  params=(Param("weight", (1, 2), "glorot_normal", fan_in=2, fan_out=1, decay=True),
                          Param("bias", (1,), "zeros")))
    model = Model("lin", (Input("x", (2,)),), (dense,), (Output("output", "dense_1"),))
    shuffle = train_kw.pop("shuffle", True)
    if "loss" in train_kw:
        train_kw["losses"] = (OutputLoss("output", train_kw.pop("loss")),)
    kw = dict(losses=(OutputLoss("output", Spec("mse")),), optimizer=Spec("sgd", {"lr": 0.05, "momentum": 0.9}), batch=4, epochs=3,
              metrics=(Spec("mse"),), seed=7)
    kw.update(train_kw)
    return Program(model, DataSpec(shuffle=shuffle), TrainSpec(**kw), path="lin.nn", source_text="model lin {}\n")


def make_data(n_train=10, n_val=6, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    w = np.array([[1.0], [-2.0]])

    def split(n):
        if n == 0:
            return None
        x = rng.standard_normal((n, 2)).astype(np.float32)
        return Split(x, (x @ w + 0.5).astype(np.float32))

    return SimpleNamespace(train=split(n_train), val=split(n_val), test=split(n_test), classes=None, preprocess=None,
                           input_preprocess=[None])  # as Datasets: one Preprocess (or None) per model input


@pytest.fixture
def fake():
    FakeBackend.instances.clear()
    return SimpleNamespace(Backend=FakeBackend, program=make_program, data=make_data, EarlyStop=EarlyStop,
                           Spec=Spec)
