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


def sigmoid(z):
    """σ(z) = (1 + tanh(z / 2)) / 2: one transcendental pass, no overflow (the gates' hot spot);
    in place on one fresh array."""
    s = z * z.dtype.type(0.5)
    np.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    return s


def rows(a: np.ndarray) -> np.ndarray:
    """[N, T, F] -> [N*T, F]: every position as one row, so products over F are 2-D BLAS calls."""
    return a.reshape(-1, a.shape[-1])


def matmul_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a [N, T, F] @ b [F, G] -> [N, T, G] as one 2-D product (stacked 3-D matmuls can miss BLAS)."""
    return (rows(a) @ b).reshape(*a.shape[:-1], b.shape[1])


def step_mask(mask, t: int) -> np.ndarray | None:
    """[T, N, 1] bool (time-major), True at real steps: the first `lengths` steps of each sequence
    (None: no padding)."""
    if mask is None:
        return None
    lengths = np.asarray(mask).sum(axis=1)
    return (np.arange(t)[:, None] < lengths[None, :])[..., None]


# -- the cells ----------------------------------------------------------------------------------
# Each cell: `step(gx, gh, state) -> (new state, cache)` and `back(d new state, cache, dgx) ->
# (dgh or None, d old state)`, writing d gx into the given [N, G*H] row block; dgh None means
# d gh = d gx (RNN, LSTM: gx and gh enter as one sum), which saves a second [N, T, G*H] array,
# and a None part of d old state means 0 (h reaches h' only through gh in RNN and LSTM).
# `hidden_bias_apart`: b_hh must stay inside gh (GRU: r multiplies it); otherwise it is added to
# gx once for all steps.
class RNNCell:
    """h' = act(gx + gh), act tanh or relu."""

    states = 1
    hidden_bias_apart = False

    def __init__(self, act: str = "tanh"):
        self.act = act

    def step(self, gx, gh, state):
        a = gh
        a += gx
        h = np.tanh(a, out=a) if self.act == "tanh" else np.maximum(a, 0, out=a)
        return (h,), h

    def back(self, dstate, cache, dgx):
        (dh,), h = dstate, cache
        if self.act == "tanh":
            np.multiply(dh, 1 - h * h, out=dgx)
        else:
            np.multiply(dh, h > 0, out=dgx)
        return None, (None,)


class LSTMCell:
    """PyTorch's gate order i, f, g, o: c' = f c + i g, h' = o tanh(c')."""

    states = 2
    hidden_bias_apart = False

    def step(self, gx, gh, state):
        _, c = state
        a = gh
        a += gx
        hid = a.shape[1] // 4
        g = np.tanh(a[:, 2 * hid:3 * hid])
        s = sigmoid(a)                                     # the g block of s goes unused
        i, f, o = s[:, :hid], s[:, hid:2 * hid], s[:, 3 * hid:]
        c_new = f * c
        c_new += i * g
        tc = np.tanh(c_new)
        return (o * tc, c_new), (i, f, g, o, c, tc)

    def back(self, dstate, cache, dgx):
        dh, dc = dstate
        i, f, g, o, c, tc = cache
        hid = dh.shape[1]
        dc = dc + dh * o * (1 - tc * tc)
        np.multiply(dc * g, i * (1 - i), out=dgx[:, :hid])
        np.multiply(dc * c, f * (1 - f), out=dgx[:, hid:2 * hid])
        np.multiply(dc * i, 1 - g * g, out=dgx[:, 2 * hid:3 * hid])
        np.multiply(dh * tc, o * (1 - o), out=dgx[:, 3 * hid:])
        return None, (None, dc * f)


class GRUCell:
    """PyTorch's gate order r, z, n, the reset applied after the hidden matmul:
    r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r gh_n), h' = (1 - z) n + z h."""

    states = 1
    hidden_bias_apart = True

    def step(self, gx, gh, state):
        (h,) = state
        rz = slice(0, 2 * h.shape[1])                      # the r and z blocks, one sigmoid for both
        r, z = np.split(sigmoid(gx[:, rz] + gh[:, rz]), 2, axis=-1)
        hn = gh[:, rz.stop:]
        n = np.tanh(gx[:, rz.stop:] + r * hn)
        return ((1 - z) * n + z * h,), (r, z, n, hn, h)

    def back(self, dstate, cache, dgx):
        (dh,) = dstate
        r, z, n, hn, h = cache
        hid = dh.shape[1]
        dn = dh * (1 - z) * (1 - n * n)   # d (gx_n + r gh_n)
        dz = dh * (h - n) * z * (1 - z)
        dr = dn * hn * r * (1 - r)
        dgx[:, :hid], dgx[:, hid:2 * hid], dgx[:, 2 * hid:] = dr, dz, dn
        return np.concatenate([dr, dz, dn * r], axis=-1), (dh * z,)


# -- one direction over the whole sequence -----------------------------------------------------
# Arrays over time are time-major inside the loop ([T, N, F]): step t's rows are one
# contiguous block, so the per-step products and copies run on contiguous memory.
def _where(keep, a, b):
    """a at real steps, b at padding steps (keep None: no padding)."""
    return a if keep is None else np.where(keep, a, b)


def run(cell, x, keep, w_ih, w_hh, b_ih, b_hh, reverse: bool):
    """(outputs [N, T, H] with zeros at padding, last state h [N, H], the Tape for `run_back`)."""
    n, t_len, _ = x.shape
    hidden = w_hh.shape[1]
    x_time = np.ascontiguousarray(x.transpose(1, 0, 2))    # [T, N, D]
    gx = matmul_rows(x_time, w_ih.T)                        # [T, N, G*H], every step at once
    gx += b_ih
    if not cell.hidden_bias_apart:
        gx += b_hh
    w_hh_t = np.ascontiguousarray(w_hh.T)
    state = tuple(np.zeros((n, hidden), x.dtype) for _ in range(cell.states))
    ys = np.zeros((t_len, n, hidden), x.dtype)
    h_before = np.empty_like(ys)                            # h_{t-1} as step t saw it (for d W_hh)
    caches = [None] * t_len
    for t in (range(t_len - 1, -1, -1) if reverse else range(t_len)):
        k = None if keep is None else keep[t]
        h_before[t] = state[0]
        gh = state[0] @ w_hh_t
        if cell.hidden_bias_apart:
            gh += b_hh
        new, caches[t] = cell.step(gx[t], gh, state)
        state = tuple(_where(k, a, b) for a, b in zip(new, state))   # padding: keep the state
        ys[t] = _where(k, state[0], 0)
    return ys.transpose(1, 0, 2), state[0], Tape(cell, x_time, keep, w_ih, w_hh, h_before, caches, reverse)


class Tape(NamedTuple):
    """What one direction's forward keeps for its backward (time-major; caches[t]: the cell's cache of step t)."""

    cell: object
    x: np.ndarray
    keep: np.ndarray | None
    w_ih: np.ndarray
    w_hh: np.ndarray
    h_before: np.ndarray
    caches: list
    reverse: bool


def run_back(dys, dlast, tape: Tape, input_grad: bool = True):
    """Gradients of one direction: (dx, d w_ih, d w_hh, d b_ih, d b_hh) from d outputs [N, T, H] and d last h.

    The steps run in the opposite order of the forward; the weight gradients are summed over
    all steps at the end, as one matrix product each.
    """
    cell, x, keep, w_ih, w_hh, h_before, caches, reverse = tape
    t_len = x.shape[0]
    dys = dys.transpose(1, 0, 2)                               # [T, N, H] view
    dstate = (dlast,) + tuple(np.zeros_like(dlast) for _ in range(cell.states - 1))
    dgx = np.empty((*x.shape[:2], w_ih.shape[0]), x.dtype)     # [T, N, G*H]
    dgh = np.empty_like(dgx) if cell.hidden_bias_apart else dgx
    for t in (range(t_len) if reverse else range(t_len - 1, -1, -1)):
        k = None if keep is None else keep[t]
        dstate = (dstate[0] + _where(k, dys[t], 0),) + dstate[1:]
        d_new = tuple(_where(k, d, 0) for d in dstate)          # real step: the gradient goes into the cell
        dgh_t, d_old = cell.back(d_new, caches[t], dgx[t])
        if dgh_t is not None:
            dgh[t] = dgh_t
        if k is not None:                                        # padding: straight to the old state
            d_old = tuple(np.where(k, 0, d) if a is None else a + np.where(k, 0, d) for a, d in zip(d_old, dstate))
        d_h = dgh[t] @ w_hh
        if d_old[0] is not None:
            d_h += d_old[0]
        dstate = (d_h,) + d_old[1:]
    dw_ih, dw_hh = rows(dgx).T @ rows(x), rows(dgh).T @ rows(h_before)
    dx = matmul_rows(dgx, w_ih).transpose(1, 0, 2) if input_grad else None
    return dx, dw_ih, dw_hh, rows(dgx).sum(axis=0), rows(dgh).sum(axis=0)


# -- the layer: one or two directions ------------------------------------------------------------
NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def directions(attrs) -> tuple[str, ...]:
    """Parameter-name suffixes of the directions, forward first ("" and "_reverse")."""
    return ("", "_reverse") if attrs["bidirectional"] else ("",)


def layer_forward(cell, x, params, attrs, ctx):
    """The layer's output ([N, T, dirs*H] or [N, dirs*H]) and the cache for `layer_backward`."""
    keep = step_mask(ctx.mask, x.shape[1])
    outs, lasts, tapes = [], [], []
    for suffix in directions(attrs):
        ys, last, tape = run(cell, x, keep, *(params[name + suffix] for name in NAMES), reverse=bool(suffix))
        outs.append(ys)
        lasts.append(last)
        tapes.append(tape)
    y = np.concatenate(outs if attrs["sequences"] else lasts, axis=-1)
    return y, (attrs["sequences"], tapes, ctx.input_grad)


def layer_backward(dy, cache):
    """(dx, parameter gradients by PyTorch's names): each direction's slice of dy, back through time."""
    sequences, tapes, input_grad = cache
    dx, grads = None, {}
    for k, (tape, suffix) in enumerate(zip(tapes, ("", "_reverse"))):
        (t, n, _), hidden = tape.x.shape, tape.w_hh.shape[1]          # the tape is time-major
        part = dy[..., k * hidden:(k + 1) * hidden]        # this direction's features (forward first)
        if sequences:
            dys, dlast = part, np.zeros((n, hidden), dy.dtype)
        else:
            dys, dlast = np.zeros((n, t, hidden), dy.dtype), part
        d_x, *d_params = run_back(dys, dlast, tape, input_grad)
        if d_x is not None:  # None: nobody needs the input's gradient (the model's first layer)
            dx = d_x if dx is None else dx + d_x
        grads.update({name + suffix: g for name, g in zip(NAMES, d_params)})
    return dx, grads
