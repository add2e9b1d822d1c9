"""One rule for batchnorm on one-sample batches, the same on every backend.

Batch normalization over a single value per channel (a batch of one sample,
on features with no spatial extent) has no variance: the NumPy backend used to
normalize it to zero and PyTorch raises "Expected more than 1 value per
channel". specc's rule: such a batch is an error before training starts (at
`check --data`, train and verify), with the batch sizes that avoid it.
"""
from __future__ import annotations

import math

from .errors import SpecError


def single_value_batchnorm(program):
    """The first batchnorm layer that sees one value per channel per sample (input [F]), or None."""
    for layer in program.all_layers():
        if layer.op == "batchnorm" and math.prod(layer.out_shape[1:]) == 1:
            return layer
    return None


def micro_batches(start: int, stop: int, accumulate: int) -> list[tuple[int, int]]:
    """`accumulate` = k: the samples [start, stop) of one optimizer step as k consecutive
    micro-batches of ceil(n / k) samples (the last shorter; none empty). A full step of
    `batch` x k samples gives k micro-batches of `batch`. Every backend splits the same way."""
    n = stop - start
    size = max(1, -(-n // max(1, accumulate)))
    return [(a, min(a + size, stop)) for a in range(start, stop, size)] or [(start, stop)]


def check_batch_sizes(program, n_train: int | None, batch: int | None = None) -> None:
    """Refuse training that would give a batchnorm layer a batch of one sample."""
    layer = single_value_batchnorm(program)
    if layer is None or program.train is None:
        return
    k = program.train.accumulate
    if batch is None and k > 1:  # micro-batches: those of a full step and of the epoch's last step
        step = program.train.step_batch
        sizes = [b - a for n in (step, n_train % step if n_train else 0) if n for a, b in micro_batches(0, n, k)]
        if 1 in sizes:
            raise SpecError(f"batchnorm layer `{layer.name}` cannot train on a micro-batch of one sample: with "
                            f"accumulate = {k}, an epoch of {n_train} samples is split into micro-batches of "
                            f"{', '.join(map(str, sorted(set(sizes))))} samples", layer.pos,
                            hint="choose another batch size or accumulate", source=program.source_text or None)
        return
    batch = batch or program.train.batch
    last = n_train % batch if n_train else 0
    if batch == 1 or last == 1:
        what = "every batch holds" if batch == 1 else f"the last batch of each epoch ({n_train} samples, batch {batch}) holds"
        good = [b for b in range(max(batch - 3, 2), batch + 4) if n_train is None or n_train % b != 1]
        raise SpecError(f"batchnorm layer `{layer.name}` cannot train on a batch of one sample: {what} one",
                        layer.pos, hint=f"choose another batch size, e.g. {', '.join(map(str, good[:3]))}",
                        source=program.source_text or None)
