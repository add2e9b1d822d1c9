"""Loss and metrics of a model's outputs, during training and for a saved run (`specc eval`, the report)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rundir
from .backend_lookup import backend_class
from .errors import SpecError
from .ir import Pos, Program

MIN_EVAL_BATCH = 512  # evaluation has no gradients, so bigger batches are cheap (results do not depend on it)
PIECE_BATCHES = 8  # a saved run's split is evaluated this many batches at a time (evaluate_split)


def first_output(outputs) -> np.ndarray:
    """The first output (a backend returns a list for several): the one a confusion matrix is of."""
    return np.asarray(outputs[0] if isinstance(outputs, list) else outputs)


def all_outputs(outputs) -> list:
    """A backend's outputs as a list, one array per model output."""
    return list(outputs) if isinstance(outputs, list) else [outputs]


def eval_batch(program: Program) -> int:
    return max(program.train.batch if program.train else 0, MIN_EVAL_BATCH)


def compute_metrics(program: Program, outputs, targets, inputs=None) -> dict[str, float]:
    """The spec's metrics on one split (empty if there is no target or no metric).

    outputs: a backend's outputs (an array, or a list with one per model output); targets: the
    split's targets, one array per output (Split.targets), or one array for a single output;
    inputs: the split's inputs, from which a sequence output's padding mask is made (its padding
    positions are left out of the metrics, as out of the loss). Which output each metric reads
    and how its column is named: ops/catalog.metric_uses.
    """
    from .ops.catalog import metric_uses

    uses = metric_uses(program.train)
    if not uses or targets is None:
        return {}
    from . import metrics

    outputs = all_outputs(outputs)
    targets = targets if isinstance(targets, (list, tuple)) else [targets]
    masks = _output_masks(program, inputs) if inputs is not None else {}
    row: dict[str, float] = {}
    for index, prefix, spec in uses:
        values = metrics.compute_metrics((spec,), outputs[index], targets[index], mask=masks.get(index))
        row.update({prefix + k: float(v) for k, v in values.items()})
    return row


def _output_masks(program: Program, inputs) -> dict[int, np.ndarray]:
    """{output index: its [N, T] padding mask}, for the outputs that have one."""
    from .masks import numpy_mask, output_sources

    model = program.model
    sources = output_sources(model)
    if not any(sources):
        return {}
    xs = {i.name: np.asarray(a) for i, a in zip(model.inputs, inputs) if i.dtype == "int"}
    return {k: numpy_mask(model, xs, s) for k, s in enumerate(sources) if s}


def evaluate_run(program: Program, run_dir, *, split: str = "test", backend="numpy", options=None,
                 data=None, confusion: bool = False, progress=None):
    """Loss and metrics of the run's weights on one split, with the run's saved preprocessing (see split_outputs).

    confusion=True returns (row, confusion matrix or None, class names).
    """
    run = split_outputs(program, run_dir, split=split, backend=backend, options=options, data=data,
                        progress=progress)
    row = {"loss": float(run.loss)}
    row.update(compute_metrics(program, run.outputs, run.targets, run.inputs))
    if confusion:
        from . import confusion as cm

        targets = run.targets[0] if run.targets else None
        return row, cm.compute(program, first_output(run.outputs), targets), run.classes
    return row


@dataclass
class SplitOutputs:
    """What a run's weights give on one split (split_outputs)."""

    loss: float
    outputs: list            # one array per model output
    targets: list | None     # one per output, or None (an autoencoder's target is its input)
    inputs: list             # the split's inputs, as the model saw them
    classes: tuple | None    # class names, or None


def split_outputs(program: Program, run_dir, *, split: str = "test", backend="numpy", options=None, data=None,
                  progress=None) -> SplitOutputs:
    """The run's weights on one split, with the run's saved preprocessing.

    `load_data` standardizes with statistics recomputed from the training split.
    They should equal the saved ones (same data, same seed); if they do not
    (e.g. the data file changed), the recomputed transform is undone and the
    saved one applied, so the weights always see inputs prepared as in training.
    `progress`: total -> a progress.Progress counting the samples evaluated (specc eval), or None.
    """
    from .checkpoint import check_owner, check_weights, load_weights_record
    from .data import preprocess as prep
    from .init import initial_params

    run_dir = Path(run_dir)
    if run_dir.suffix == ".npz" and run_dir.is_file():  # accept the weights file itself
        run_dir = run_dir.parent
    run_dir = rundir.require_run_dir(run_dir)
    weights_path = run_dir / rundir.WEIGHTS
    params, record = load_weights_record(weights_path)
    check_owner(record, rundir.model_hash(program), weights_path)
    check_weights(params, initial_params(program), weights_path)
    if data is None:
        from .data import load_data

        data = load_data(program)
    from .class_weights import resolve_balanced  # weights=balanced: counted on the training split

    program = resolve_balanced(program, data.train.targets if data.train is not None else None)
    part = getattr(data, split, None)
    if part is None or len(part.x) == 0:
        raise SpecError(f"the data has no {split} split", Pos(file=program.path),
                        hint="choose another with --split (train, val or test)")
    inputs = list(part.inputs)
    saved = prep.read_saved(run_dir, program.model.inputs)
    if saved is not None:
        current = prep.arrays_per_input(data)
        current += [{}] * (len(saved) - len(current))
        for k in range(len(inputs)):
            was, now = saved[k], current[k]
            if not prep.same_arrays(was, now):
                from .data.stream import is_streamed

                x = inputs[k]
                inputs[k] = (x.with_preprocess(prep.Preprocess.from_arrays(was)) if is_streamed(x)  # read again
                             else prep.Preprocess.from_arrays(was).apply(prep.unapply(now, x)))
    seed = program.train.seed if program.train else 0
    options = {k: v for k, v in (options or {}).items() if v is not None}
    be = backend_class(backend)(program, params, seed=seed, **options)
    bar = progress(len(inputs[0])) if progress is not None else None
    try:  # in pieces: progress, and a streamed split is never read whole
        loss, outputs = evaluate_split(be, split, inputs, part.targets, eval_batch(program), bar)
    finally:
        if bar is not None:
            bar.close()
    return SplitOutputs(loss, all_outputs(outputs), part.targets, inputs, getattr(data, "classes", None))


def evaluate_split(backend, split: str, inputs: list, targets: list | None, batch: int, progress=None):
    """(mean loss, outputs as Backend.evaluate returns them) of a whole split, PIECE_BATCHES batches at a time.

    Pieces let a long `specc eval` show progress, and keep a streamed split
    (data/stream.py) from being read whole: each piece is read, evaluated and
    dropped. A piece is a whole number of batches, so the batches are the ones
    one call would use; the loss is the sample-weighted mean over the pieces.
    """
    n = len(inputs[0])
    piece = max(1, batch) * PIECE_BATCHES
    total, outs = 0.0, []
    for lo in range(0, n, piece):
        hi = min(lo + piece, n)
        backend.put_data(split, [a[lo:hi] for a in inputs], None if targets is None else [t[lo:hi] for t in targets])
        loss, out = backend.evaluate(split, batch)
        total += float(loss) * (hi - lo)
        outs.append(out if isinstance(out, list) else [out])
        if progress is not None:
            progress.advance(hi - lo)
    joined = [np.concatenate(parts) for parts in zip(*outs)]
    return (total / n if n else float("nan")), (joined[0] if len(joined) == 1 else joined)
