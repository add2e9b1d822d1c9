"""`specc verify SPEC [--weights DIR]`: do NumPy, PyTorch and onnxruntime compute the same model?

Runs one seeded batch through the NumPy reference, the torch lowering and the
ONNX export (each where installed) with the same parameters, and prints for
every layer the largest absolute and relative difference of its output against
NumPy, then (NumPy vs PyTorch) of every parameter gradient of the spec's loss.
Exit code 1 when a difference is past tolerance. Run it to trust a spec before
a long GPU run.

Relative difference = max |a - b| / max |b| over the layer (scale-aware, so a
layer of tiny values does not look wrong). A layer passes when its relative
difference is within --rtol or its absolute difference within --atol.
Activations are compared in inference mode (dropout off, batchnorm running
statistics); gradients in training mode unless the model has dropout (whose
masks come from different generators), then in inference mode.
"""
from __future__ import annotations

import os
import sys

from ._common import add_set_option

# float32 rounding: ~1e-7 relative per op; a deep net's outputs stay well inside 1e-4 of
# their scale, gradients (longer chains, cancellations) inside 1e-3. A real lowering bug
# (wrong pad side, variance convention, layout) shows up as 1e-2 or more.
RTOL, GRAD_RTOL, ATOL = 1e-4, 1e-3, 1e-6


def register(subparsers) -> None:
    p = subparsers.add_parser("verify", help="compare NumPy, PyTorch and ONNX on one batch, layer by layer",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("spec", help="the .nn file")
    p.add_argument("--weights", metavar="DIR", help="run directory (weights.npz) or a weights .npz; "
                                                     "default: the seeded initial weights")
    p.add_argument("--batch", type=int, default=8, help="samples in the seeded batch (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the batch (default 0)")
    p.add_argument("--rtol", type=float, default=RTOL, help=f"activation tolerance, relative (default {RTOL:g})")
    p.add_argument("--grad-rtol", type=float, default=GRAD_RTOL,
                   help=f"gradient tolerance, relative (default {GRAD_RTOL:g})")
    p.add_argument("--atol", type=float, default=ATOL, help=f"absolute tolerance (default {ATOL:g})")
    p.add_argument("--no-onnx", action="store_true", help="skip onnxruntime")
    add_set_option(p)
    p.set_defaults(func=run)


# -- inputs -------------------------------------------------------------------------------
def load_weights(program, path):
    """Canonical float32 arrays from DIR/weights.npz or a .npz file, checked against the spec."""
    import numpy as np

    from ..errors import SpecError
    from ..ir import Pos

    from ..checkpoint import check_owner, load_weights_record
    from ..rundir import model_hash

    file = os.path.join(path, "weights.npz") if os.path.isdir(path) else path
    if not os.path.exists(file):
        raise SpecError(f"no weights at {file}", Pos(path), "pass a run directory of `specc train` or a .npz")
    arrays, record = load_weights_record(file)  # regular file, declared sizes, numeric arrays
    check_owner(record, model_hash(program), file)  # same-shaped weights of another model are refused
    params = {k: v.astype(np.float32) for k, v in arrays.items()}
    for key, _layer, p in program.all_params():
        if key not in params:
            raise SpecError(f"{file} has no `{key}`", Pos(file), "were these weights trained from this spec?")
        if tuple(params[key].shape) != tuple(p.shape):
            raise SpecError(f"{file}: `{key}` has shape {list(params[key].shape)}, the spec says {list(p.shape)}",
                            Pos(file))
    return {key: params[key] for key, _l, _p in program.all_params()}


def with_loss(program):
    """The program itself, or (no train block) the same model with an mse loss per output, so gradients exist.

    Built through the front end like any program (the printed spec plus a train block).
    """
    from ..frontend import compile_text
    from ..printer import format_program

    if program.train is not None:
        return program
    losses = ", ".join(f"{o.name}: mse" for o in program.model.outputs)
    text = format_program(program) + f"\ntrain {{\n    loss = {{{losses}}}\n    optimizer = sgd(lr=0.1)\n}}\n"
    return compile_text(text, program.path)


def seeded_batch(program, n, seed):
    """Standard-normal inputs (model space: after preprocessing) and targets fitting each loss."""
    import numpy as np

    from ..rng import stream

    rng = stream(seed, "verify")
    m = program.model
    x = [_tokens(m, i, n, rng) if i.dtype == "int" else rng.standard_normal((n, *i.shape)).astype(np.float32)
         for i in m.inputs]
    y = []
    for out, ol in zip(m.outputs, program.train.losses):
        shape, loss = m.value_shape(out.value), ol.loss.name
        if loss in ("cross_entropy", "nll") and len(shape) == 2:  # one class per position; padding marked -1
            from ..data.targets import mark_padding

            y.append(mark_padding(program, x, rng.integers(0, shape[1], (n, shape[0])).astype(np.int64)))
        elif loss in ("cross_entropy", "nll"):
            y.append(rng.integers(0, shape[0], n).astype(np.int64))
        elif loss == "bce":
            y.append((rng.random((n, *shape)) > 0.5).astype(np.float32))
        else:
            y.append(rng.standard_normal((n, *shape)).astype(np.float32))
    return x, y


def _tokens(model, inp, n, rng):
    """Token ids below the smallest vocabulary reading them; example i ends in i mod T padding tokens."""
    import numpy as np

    readers = [layer for layer in model.layers if inp.name in layer.inputs and layer.op == "embedding"]
    vocab = min((layer.attrs["vocab"] for layer in readers), default=2)
    x = rng.integers(0, vocab, (n, *inp.shape)).astype(np.int64)
    pads = [layer.attrs["pad"] for layer in readers if layer.attrs["pad"] is not None]
    if pads:
        t = inp.shape[0]
        for i in range(n):
            x[i, t - i % t:] = pads[0]
    return x


# -- the three implementations -----------------------------------------------------------
def backend(name: str, program, params):
    """A backend of the driver's registry, on the CPU in float32 (numbers comparable with NumPy)."""
    import numpy as np

    from ..backend_lookup import backend_class

    options = {"device": "cpu", "dtype": "float32"} if name == "torch" else {}
    return backend_class(name)(program, {k: np.array(v) for k, v in params.items()}, seed=0, **options)


# -- comparison ---------------------------------------------------------------------------
def diff(a, b):
    """(max abs difference, relative to max |b|); shape mismatch -> (inf, inf)."""
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf"), float("inf")
    if a.size == 0:
        return 0.0, 0.0
    d = float(np.max(np.abs(a - b)))
    if not np.isfinite(d):
        same = np.array_equal(a, b, equal_nan=True)
        return (0.0, 0.0) if same else (float("inf"), float("inf"))
    scale = float(np.max(np.abs(b)))
    return d, (d / scale if scale > 0 else (0.0 if d == 0 else float("inf")))


def _ok(d, rtol, atol):
    return d[0] <= atol or d[1] <= rtol


def _fmt(d):
    return "        -           -" if d is None else f"{d[0]:>9.2e}  {d[1]:>9.2e}"


def run(args) -> int:
    import numpy as np  # noqa: F401  (fail early and clearly if the environment is broken)

    from ._common import compile_spec

    args.file = args.spec
    from ..class_weights import without_balanced  # no training split here: weights=balanced as ones

    program = without_balanced(with_loss(compile_spec(args)))
    from ..limits import check_model_memory

    check_model_memory(program, max(1, args.batch))  # before any parameter is allocated
    from ..batches import check_batch_sizes

    check_batch_sizes(program, None, max(1, args.batch))  # training-mode gradients: the same rule as train
    if args.weights:
        params = load_weights(program, args.weights)
    else:
        from ..init import initial_params

        params = initial_params(program)
    x, y = seeded_batch(program, max(1, args.batch), args.seed)
    layers = program.all_layers()
    has_dropout = any(layer.op == "dropout" for layer in layers)
    notes: list[str] = []

    reference = backend("numpy", program, params)
    ref = reference.activations(x)
    l_np, g_np = reference.loss_and_grads(x, y, training=not has_dropout)

    act_t = g_t = None
    l_t = None
    from ..errors import SpecError

    try:
        torch_backend = backend("torch", program, params)
    except SpecError as e:  # torch is not installed
        notes.append(f"PyTorch skipped: {e.message}")
    else:
        act_t = torch_backend.activations(x)
        l_t, g_t = torch_backend.loss_and_grads(x, y, training=not has_dropout)

    act_o = None
    if args.no_onnx:
        notes.append("onnxruntime skipped (--no-onnx)")
    else:
        try:
            import onnxruntime  # noqa: F401

            from specc.backends.onnx.runtime import layer_outputs
        except ImportError as e:
            notes.append(f"onnxruntime skipped: {e}")
        else:
            from ..errors import SpecErrors

            try:
                act_o = layer_outputs(program, params, x)
            except SpecErrors as e:
                notes.append("onnxruntime skipped: the model does not export: "
                             + "; ".join(err.message for err in e.errors))

    failures = []
    width = max([len(layer.name) for layer in layers] + [len(k) for k in params] + [10])
    print(f"verify {program.model.name}: batch {len(x[0])}, seed {args.seed}, float32; pass: rel <= {args.rtol:g} "
          f"(gradients {args.grad_rtol:g}) or abs <= {args.atol:g}")
    print(f"{'layer':<{width}}  {'op':<12} {'torch abs':>9}  {'torch rel':>9}   {'onnx abs':>9}  {'onnx rel':>9}")
    for layer in layers:
        row = []
        for name, acts in (("torch", act_t), ("onnx", act_o)):
            d = diff(acts[layer.name], ref[layer.name]) if acts is not None and layer.name in acts else None
            if d is not None and not _ok(d, args.rtol, args.atol):
                failures.append(f"{layer.name} ({name})")
            row.append(_fmt(d))
        print(f"{layer.name:<{width}}  {layer.op:<12} {row[0]}   {row[1]}")

    if g_t is not None:
        mode = "inference mode (the model has dropout)" if has_dropout else "training mode"
        print(f"\nparameter gradients, numpy vs torch ({program.train.loss.name}, {mode}); "
              f"loss numpy {l_np:.6g}, torch {l_t:.6g}")
        print(f"{'parameter':<{width}}  {'abs':>9}  {'rel':>9}")
        from ..transfer import frozen_keys

        frozen = frozen_keys(program)
        for key in params:
            if key not in g_np and key not in g_t or key in frozen:
                continue  # buffers (batchnorm running statistics), and parameters train.freeze keeps fixed
            d = diff(g_t.get(key), g_np.get(key)) if key in g_t and key in g_np else (float("inf"), float("inf"))
            if not _ok(d, args.grad_rtol, args.atol):
                failures.append(f"{key} (gradient)")
            print(f"{key:<{width}}  {_fmt(d)}")
        d = diff(l_t, l_np)
        if not _ok(d, args.rtol, args.atol):
            failures.append("loss")

    for note in notes:
        print(f"note: {note}")
    if failures:
        print(f"FAILED: past tolerance: {', '.join(failures)}")
        return 1
    compared = ["numpy"] + (["torch"] if act_t is not None else []) + (["onnxruntime"] if act_o is not None else [])
    print(f"OK: {', '.join(compared)} agree within tolerance")
    if len(compared) == 1:
        print("warning: nothing to compare the NumPy reference with", file=sys.stderr)
    return 0
