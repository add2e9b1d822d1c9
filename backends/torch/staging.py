"""Batches of data that stays in host memory, staged for the GPU without stalling it.

When a split does not fit on the GPU (backend.DEVICE_DATA_FRACTION), it stays in
pinned host memory. Gathering a batch there with index_select would produce
ordinary (pageable) memory, and a copy from pageable memory is synchronous even
with non_blocking=True: the training thread would wait for every transfer.
So batches are gathered into pinned staging buffers, reused, and copied to
reused device buffers asynchronously. Two slots are used in turn: while the GPU
still copies from (and computes on) one, the host gathers the next batch into the
other; an event recorded after each copy says when a slot may be overwritten
(usually long done by then, so the wait is free).
"""
from __future__ import annotations

import torch

SLOTS = 2


class PinnedStaging:
    """Staging for one device. On a CPU device (tests) the buffers are plain and the copies
    synchronous, so no events are needed; the slot and reuse logic is the same."""

    def __init__(self, device: torch.device):
        self.device = device
        self.cuda = device.type == "cuda"
        self.buffers: list[dict[str, tuple[torch.Tensor, torch.Tensor]]] = [{} for _ in range(SLOTS)]
        self.events: list[torch.cuda.Event | None] = [None] * SLOTS
        self.turn = 0

    def batch(self, xs: list[torch.Tensor], ys: list[torch.Tensor] | None, idx: torch.Tensor):
        """([x[idx] for x in xs], [y[idx] for y in ys]) on the device; the targets are the
        inputs when there are none (autoencoders)."""
        slot = self.turn
        self.turn = (slot + 1) % SLOTS
        if self.events[slot] is not None:
            self.events[slot].synchronize()  # the copy that last read this slot's pinned buffers is done
        x = [self._stage(slot, f"x{k}", t, idx) for k, t in enumerate(xs)]
        y = x if ys is None else [self._stage(slot, f"y{k}", t, idx) for k, t in enumerate(ys)]
        if self.cuda:
            if self.events[slot] is None:
                self.events[slot] = torch.cuda.Event()
            self.events[slot].record()
        return x, y

    def _stage(self, slot: int, key: str, src: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        n = idx.shape[0]
        host, dev = self.buffers[slot].get(key, (None, None))
        if host is None or host.shape[0] < n or host.shape[1:] != src.shape[1:] or host.dtype != src.dtype:
            host = torch.empty((n, *src.shape[1:]), dtype=src.dtype, pin_memory=self.cuda)
            dev = torch.empty(host.shape, dtype=src.dtype, device=self.device)
            self.buffers[slot][key] = (host, dev)
        torch.index_select(src, 0, idx, out=host[:n])
        return dev[:n].copy_(host[:n], non_blocking=True)
