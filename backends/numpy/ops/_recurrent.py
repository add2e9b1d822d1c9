"""Backpropagation through time shared by rnn, lstm and gru; each cell is one small class.

Layout: x [N, T, D] (batch first), parameters exactly PyTorch's (`weight_ih_l0`
[G*H, D], `weight_hh_l0` [G*H, H], `bias_ih_l0`, `bias_hh_l0`, the same with
`_reverse` for the backward direction; G gates stacked in PyTorch's order).

Every step of every cell reads two projections:
    gx_t = x_t W_ih^T + b_ih     (all T at once, before the loop)
    gh_t = h_{t-1} W_hh^T + b_hh (inside the loop)
and returns the new state (h, or (h, c) for the LSTM). Its backward turns the
gradient of the new state into d gx_t, d gh_t and the part of the old state's
gradient that does not pass through gh_t (LSTM: f * dc; GRU: z * dh). The loop
owns everything else: W_hh's gradient and the path h_{t-1} -> gh_t.

Padding (PyTorch's pack_padded_sequence): sequence n is real for t < lengths[n]
(lengths = mask.sum(1)). At a padding step the state is kept as it was and the
output is 0. Running forward this holds the last real state to the end; running
in reverse the state stays at its initial 0 until the last real step, where the
reverse pass really starts. So one rule serves both directions.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._base import stable_sigmoid


def step_mask(mask, n: int, t: int) -> np.ndarray:
    """[N, T, 1] bool, True at real steps: the first `lengths` steps of each sequence."""
    if mask is None:
        return np.ones((n, t, 1), bool)
    lengths = np.asarray(mask).sum(axis=1)
    return (np.arange(t)[None, :] < lengths[:, None])[..., None]


# -- the cells ----------------------------------------------------------------------------------
class RNNCell:
    """h' = act(gx + gh), act tanh or relu."""

    gates = 1
    states = 1

    def __init__(self, act: str = "tanh"):
        self.act = act

    def step(self, gx, gh, state):
        a = gx + gh
        h = np.tanh(a) if self.act == "tanh" else np.maximum(a, 0)
        return (h,), h

    def back(self, dstate, cache):
        (dh,), h = dstate, cache
        da = dh * (1 - h * h) if self.act == "tanh" else dh * (h > 0)
        return da, da, (np.zeros_like(dh),)


class LSTMCell:
    """PyTorch's gate order i, f, g, o: c' = f c + i g, h' = o tanh(c')."""

    gates = 4
    states = 2

    def step(self, gx, gh, state):
        _, c = state
        i, f, g, o = np.split(gx + gh, 4, axis=-1)
        i, f, g, o = stable_sigmoid(i), stable_sigmoid(f), np.tanh(g), stable_sigmoid(o)
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        return (o * tc, c_new), (i, f, g, o, c, tc)

    def back(self, dstate, cache):
        dh, dc = dstate
        i, f, g, o, c, tc = cache
        do = dh * tc
        dc = dc + dh * o * (1 - tc * tc)
        di, df, dg = dc * g, dc * c, dc * i
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=-1)
        return da, da, (np.zeros_like(dh), dc * f)


class GRUCell:
    """PyTorch's gate order r, z, n, the reset applied after the hidden matmul:
    r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r gh_n), h' = (1 - z) n + z h."""

    gates = 3
    states = 1

    def step(self, gx, gh, state):
        (h,) = state
        xr, xz, xn = np.split(gx, 3, axis=-1)
        hr, hz, hn = np.split(gh, 3, axis=-1)
        r, z = stable_sigmoid(xr + hr), stable_sigmoid(xz + hz)
        n = np.tanh(xn + r * hn)
        return ((1 - z) * n + z * h,), (r, z, n, hn, h)

    def back(self, dstate, cache):
        (dh,) = dstate
        r, z, n, hn, h = cache
        dn = dh * (1 - z) * (1 - n * n)   # d (gx_n + r gh_n)
        dz = dh * (h - n) * z * (1 - z)
        dr = dn * hn * r * (1 - r)
        dgx = np.concatenate([dr, dz, dn], axis=-1)
        dgh = np.concatenate([dr, dz, dn * r], axis=-1)
        return dgx, dgh, (dh * z,)


# -- one direction over the whole sequence -----------------------------------------------------
def run(cell, x, keep, w_ih, w_hh, b_ih, b_hh, reverse: bool):
    """(outputs [N, T, H] with zeros at padding, last state h [N, H], the Tape for `run_back`)."""
    n, t_len, _ = x.shape
    hidden = w_hh.shape[1]
    gx = x @ w_ih.T + b_ih                                  # [N, T, G*H], every step at once
    state = tuple(np.zeros((n, hidden), x.dtype) for _ in range(cell.states))
    ys = np.zeros((n, t_len, hidden), x.dtype)
    steps = []
    for t in (range(t_len - 1, -1, -1) if reverse else range(t_len)):
        k = keep[:, t]
        gh = state[0] @ w_hh.T + b_hh
        new, cache = cell.step(gx[:, t], gh, state)
        steps.append((t, state, cache))
        state = tuple(np.where(k, a, b) for a, b in zip(new, state))  # padding: keep the state
        ys[:, t] = np.where(k, state[0], 0)
    return ys, state[0], Tape(cell, x, keep, w_ih, w_hh, steps)


class Tape(NamedTuple):
    """What one direction's forward keeps for its backward; `steps` is (t, old state, cell cache) in run order."""

    cell: object
    x: np.ndarray
    keep: np.ndarray
    w_ih: np.ndarray
    w_hh: np.ndarray
    steps: list


def run_back(dys, dlast, tape: Tape):
    """Gradients of one direction: (dx, d w_ih, d w_hh, d b_ih, d b_hh) from d outputs and d last h."""
    cell, x, keep, w_ih, w_hh, steps = tape
    dstate = (dlast,) + tuple(np.zeros_like(dlast) for _ in range(cell.states - 1))
    dgx = np.zeros((*x.shape[:2], w_ih.shape[0]), x.dtype)
    dw_hh = np.zeros_like(w_hh)
    db_hh = np.zeros(w_hh.shape[0], x.dtype)
    for t, old, step_cache in reversed(steps):
        k = keep[:, t]
        dstate = (dstate[0] + np.where(k, dys[:, t], 0),) + dstate[1:]
        d_new = tuple(np.where(k, d, 0) for d in dstate)        # real step: the gradient goes into the cell
        d_kept = tuple(np.where(k, 0, d) for d in dstate)       # padding: straight to the old state
        dgx_t, dgh, d_direct = cell.back(d_new, step_cache)
        dgx[:, t] = dgx_t
        dw_hh += dgh.T @ old[0]
        db_hh += dgh.sum(axis=0)
        dstate = tuple(a + b for a, b in zip(d_kept, d_direct))
        dstate = (dstate[0] + dgh @ w_hh,) + dstate[1:]
    g2 = dgx.reshape(-1, dgx.shape[-1])
    dw_ih = g2.T @ x.reshape(-1, x.shape[-1])
    return dgx @ w_ih, dw_ih, dw_hh, g2.sum(axis=0), db_hh


# -- the layer: one or two directions ------------------------------------------------------------
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def directions(attrs) -> tuple[str, ...]:
    """Parameter-name suffixes of the directions, forward first ("" and "_reverse")."""
    return ("", "_reverse") if attrs["bidirectional"] else ("",)


def layer_forward(cell, x, params, attrs, mask):
    """The layer's output ([N, T, dirs*H] or [N, dirs*H]) and the cache for `layer_backward`."""
    keep = step_mask(mask, x.shape[0], x.shape[1])
    outs, lasts, tapes = [], [], []
    for suffix in directions(attrs):
        ys, last, tape = run(cell, x, keep, *(params[name + suffix] for name in NAMES), reverse=bool(suffix))
        outs.append(ys)
        lasts.append(last)
        tapes.append(tape)
    y = np.concatenate(outs if attrs["sequences"] else lasts, axis=-1)
    return y, (attrs["sequences"], tapes)


def layer_backward(dy, cache):
    """(dx, parameter gradients by PyTorch's names): each direction's slice of dy, back through time."""
    sequences, tapes = cache
    dx, grads = None, {}
    for k, (tape, suffix) in enumerate(zip(tapes, ("", "_reverse"))):
        (n, t, _), hidden = tape.x.shape, tape.w_hh.shape[1]
        part = dy[..., k * hidden:(k + 1) * hidden]        # this direction's features (forward first)
        if sequences:
            dys, dlast = part, np.zeros((n, hidden), dy.dtype)
        else:
            dys, dlast = np.zeros((n, t, hidden), dy.dtype), part
        d_x, *d_params = run_back(dys, dlast, tape)
        dx = d_x if dx is None else dx + d_x
        grads.update({name + suffix: g for name, g in zip(NAMES, d_params)})
    return dx, grads
