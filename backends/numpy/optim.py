"""NumPy optimizers with PyTorch's update rules, one small class per rule.

Each class names its per-parameter state arrays (`slots`, named as torch names
them in its state) and implements `update` for one parameter; the base class
keeps the step count, the state and the flat, npz-able state dict
("dense_1.weight.exp_avg", ..., "step"). The learning rate is passed to every
`step`, because the schedule (specc.schedules.lr_at) owns it.

Updates are in place and keep the parameter's dtype (float32 in training,
float64 in the tests that compare against torch.optim).
"""
from __future__ import annotations

import math

import numpy as np

from specc.errors import SpecError
from specc.ir import Spec

class Optimizer:
    """Base class: step count, state arrays per trainable parameter, state dict."""

    name = ""
    slots: tuple[str, ...] = ()

    def __init__(self, args: dict, params: dict[str, np.ndarray], trainable: list[str]):
        self.args = dict(args)
        self.keys = list(trainable)
        self.t = 0  # optimizer steps taken
        self.state = {k: {s: np.zeros_like(params[k]) for s in self.active_slots()} for k in self.keys}

    def active_slots(self) -> tuple[str, ...]:
        """The state arrays this configuration uses (e.g. sgd without momentum keeps none)."""
        return self.slots

    def step(self, params: dict, grads: dict, lr: float) -> None:
        """One update of every trainable parameter, in place, with learning rate `lr`."""
        self.t += 1
        lr = float(lr)
        for k in self.keys:
            self.update(params[k], grads[k], self.state[k], lr)

    def update(self, p: np.ndarray, g: np.ndarray, state: dict, lr: float) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        out = {f"{k}.{s}": a.copy() for k, slots in self.state.items() for s, a in slots.items()}
        out["step"] = np.array(self.t, dtype=np.int64)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a state from `state_dict`; a state of another optimizer or model is an error."""
        expected = set(self.state_dict())
        got = set(state)
        fresh = "step" in got and int(state["step"]) == 0 and got <= expected  # torch keeps no state before its first step
        if expected != got and not fresh:
            missing = sorted(expected - got)[:3]
            extra = sorted(got - expected)[:3]
            raise SpecError(
                f"the saved optimizer state does not fit this `{self.name}` optimizer"
                + (f" (missing {', '.join(missing)})" if missing else "")
                + (f" (unexpected {', '.join(extra)})" if extra else ""),
                hint="resume with the optimizer and model the checkpoint was trained with")
        for k, slots in self.state.items():
            for s, a in slots.items():
                if f"{k}.{s}" not in state:  # only in a fresh (step 0) state: the initial zeros
                    a[...] = 0
                    continue
                saved = np.asarray(state[f"{k}.{s}"])
                if saved.shape != a.shape:
                    raise SpecError(f"the saved optimizer state {k}.{s} has shape {list(saved.shape)}, "
                                    f"the parameter has {list(a.shape)}")
                a[...] = saved
        self.t = int(state["step"])


class SGD(Optimizer):
    """torch.optim.SGD, dampening 0: buf = g on the first step, then momentum*buf + g;
    p -= lr * (g + momentum*buf if nesterov else buf)."""

    name = "sgd"
    slots = ("momentum_buffer",)

    def active_slots(self):
        return self.slots if self.args["momentum"] else ()

    def update(self, p, g, state, lr):
        m = self.args["momentum"]
        if m:
            # The buffer starts at zero, so the first update gives m*0 + g == g exactly:
            # torch's "buffer = grad on the first step" without depending on the step
            # count (torch's SGD keeps none, so a state saved by the torch backend says step 0).
            buf = state["momentum_buffer"]
            buf *= m
            buf += g
            d = g + m * buf if self.args["nesterov"] else buf
        else:
            d = g
        p -= lr * d


class Perceptron(SGD):
    """Rosenblatt's perceptron rule w += lr (y - step(w.x)) x, as a plain SGD step.

    It is SGD whose "gradient" is -(y - y_hat) x, the perceptron error signal;
    the backend supplies that signal (the step function itself has zero
    derivative). No momentum. Default lr 1, the textbook choice (the rule is
    scale-free when starting from zero weights).
    """

    name = "perceptron"

    def __init__(self, args, params, trainable):
        super().__init__({**args, "momentum": 0.0, "nesterov": False}, params, trainable)


class Adaline(SGD):
    """Widrow-Hoff's delta rule w += lr (y - w.x) x, as a plain SGD step.

    It is SGD on the squared error of the linear output (the gradient of
    1/2 (y - w.x)^2 is -(y - w.x) x); the backend supplies that gradient. No momentum.
    """

    name = "adaline"

    def __init__(self, args, params, trainable):
        super().__init__({**args, "momentum": 0.0, "nesterov": False}, params, trainable)


class Adagrad(Optimizer):
    """torch.optim.Adagrad (lr_decay 0, initial accumulator 0): sum += g^2; p -= lr g / (sqrt(sum) + eps)."""

    name = "adagrad"
    slots = ("sum",)

    def update(self, p, g, state, lr):
        s = state["sum"]
        tmp = np.multiply(g, g)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.args["eps"]
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp


class RMSprop(Optimizer):
    """torch.optim.RMSprop, not centered: v = rho v + (1-rho) g^2; a = sqrt(v) + eps;
    with momentum buf = momentum buf + g/a (buf starts at 0), p -= lr buf; else p -= lr g/a."""

    name = "rmsprop"
    slots = ("square_avg", "momentum_buffer")

    def active_slots(self):
        return self.slots if self.args["momentum"] else ("square_avg",)

    def update(self, p, g, state, lr):
        rho, m = self.args["rho"], self.args["momentum"]
        v = state["square_avg"]
        tmp = np.multiply(g, g)
        tmp *= 1 - rho
        v *= rho
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += self.args["eps"]  # avg
        np.divide(g, tmp, out=tmp)
        if m:
            buf = state["momentum_buffer"]
            buf *= m
            buf += tmp
            np.multiply(buf, lr, out=tmp)
        else:
            tmp *= lr
        p -= tmp


class Adadelta(Optimizer):
    """torch.optim.Adadelta: v = rho v + (1-rho) g^2; d = sqrt(u + eps)/sqrt(v + eps) g;
    u = rho u + (1-rho) d^2; p -= lr d."""

    name = "adadelta"
    slots = ("square_avg", "acc_delta")

    def update(self, p, g, state, lr):
        rho, eps = self.args["rho"], self.args["eps"]
        v, u = state["square_avg"], state["acc_delta"]
        tmp = np.multiply(g, g)
        tmp *= 1 - rho
        v *= rho
        v += tmp
        delta = np.add(u, eps)
        np.sqrt(delta, out=delta)
        np.add(v, eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        delta /= tmp
        delta *= g  # delta = sqrt(u + eps) / sqrt(v + eps) * g
        np.multiply(delta, delta, out=tmp)
        tmp *= 1 - rho
        u *= rho
        u += tmp
        delta *= lr
        p -= delta


class Adam(Optimizer):
    """torch.optim.Adam: m += (1-b1)(g - m); v = b2 v + (1-b2) g^2;
    p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""

    name = "adam"
    slots = ("exp_avg", "exp_avg_sq")

    def update(self, p, g, state, lr):
        b1, b2 = self.args["beta1"], self.args["beta2"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # one scratch array instead of a temporary per operation (about 2x faster on float32 MLPs)
        tmp = np.subtract(g, m)
        tmp *= 1 - b1
        m += tmp  # m += (1-b1)(g - m); torch: exp_avg.lerp_(grad, 1 - beta1)
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v *= b2
        v += tmp
        step_size = lr / (1 - b1 ** self.t)
        np.sqrt(v, out=tmp)
        tmp /= math.sqrt(1 - b2 ** self.t)
        tmp += self.args["eps"]  # denom
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        p -= tmp


class AdamW(Adam):
    """torch.optim.AdamW: p *= 1 - lr * weight_decay, then the Adam update.

    The decay applies to every trainable parameter this optimizer holds (as
    torch's AdamW does for one parameter group).
    """

    name = "adamw"

    def update(self, p, g, state, lr):
        p *= 1 - lr * self.args["weight_decay"]
        super().update(p, g, state, lr)


OPTIMIZER_TABLE: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Perceptron, Adaline)
}
def make_optimizer(spec: Spec, params: dict[str, np.ndarray], trainable: list[str]) -> Optimizer:
    """The optimizer `spec` names, holding state for the `trainable` keys of `params`.

    `spec.args` are the front end's checked arguments with every default filled in
    (specc/ops/catalog.py): nothing is re-checked or re-defaulted here.
    """
    return OPTIMIZER_TABLE[spec.name](dict(spec.args), params, trainable)
