"""`specc predict model.onnx INPUT [-o OUT]`: run an exported model with onnxruntime.

INPUT is a CSV (header row, one feature column per input element), an .npy
array or an .npz archive (array `x`, or its only array). Output is a CSV: the
predicted class and the class probabilities, or the raw values for regression.
The model is checked with onnx.checker before it is run; wrong files and wrong
feature counts are reported as errors (exit 2), never as tracebacks.
"""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="run an exported ONNX model on a CSV/NPY/NPZ file",
                              description="Predict with an exported ONNX model (onnxruntime, CPU).")
    p.add_argument("model", help="an .onnx file written by `specc export`")
    p.add_argument("input", nargs="?", help="inputs: .csv (header row; feature columns), .npy, or .npz (array x)")
    p.add_argument("--input", dest="named", action="append", default=[], metavar="NAME=FILE",
                   help="the file for the model input NAME (one per input of a model with several inputs)")
    p.add_argument("-o", "--output", metavar="FILE", help="CSV to write (default: standard output)")
    p.add_argument("--batch", type=int, default=1024, help="rows per onnxruntime call (default 1024)")
    p.add_argument("--allow-nan", action="store_true",
                   help="predict the other rows when some hold NaN/inf, and leave those rows' cells empty "
                        "(default: refuse the file)")
    p.set_defaults(func=run)


def read_csv(path: str):
    """float32 [N, F] from a CSV with a header row; DataError with row/column for bad cells."""
    import csv

    import numpy as np

    from specc.errors import DataError
    from specc.ir import Pos

    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:  # csv.Error: e.g. a 100 MB field
        raise DataError(f"cannot read {path}: {e}", Pos(path)) from None
    if not rows:
        raise DataError(f"{path} is empty (expected a header row)", Pos(path))
    header, body = rows[0], [r for r in rows[1:] if r]
    out = np.empty((len(body), len(header)), np.float32)
    for i, row in enumerate(body):
        line = i + 2
        if len(row) != len(header):
            raise DataError(f"row has {len(row)} fields but the header has {len(header)}", Pos(path, line, 1))
        for j, cell in enumerate(row):
            try:
                out[i, j] = float(cell)
            except ValueError:
                raise DataError(f"column `{header[j]}` holds `{cell}`, not a number", Pos(path, line, j + 1),
                                "predict takes feature columns only") from None
    return out


def read_input(path: str):
    """float32 [N, ...] from .csv / .npy / .npz (no pickles)."""
    import os
    import zipfile

    import numpy as np

    from specc.errors import DataError
    from specc.ir import Pos

    from specc.files import regular_data_file

    ext = os.path.splitext(path)[1].lower()
    if not os.path.exists(path):
        raise DataError(f"no such input file: {path}", Pos(path))
    regular_data_file(path, "input file")  # a FIFO would block, /dev/zero never ends
    if ext == ".csv":
        return read_csv(path)
    if ext not in (".npy", ".npz"):
        raise DataError(f"unknown input format `{ext or path}`", Pos(path), "use .csv, .npy or .npz")
    from specc.limits import check_npy_sizes

    check_npy_sizes(path, DataError)
    try:
        if ext == ".npy":
            x = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as z:
                if "x" not in z.files and len(z.files) != 1:
                    raise DataError(f"{path} holds arrays {z.files}; name the inputs `x`", Pos(path))
                x = z["x"] if "x" in z.files else z[z.files[0]]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read {path}: {e}", Pos(path)) from None
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path} holds {x.dtype} values, not numbers", Pos(path))
    if x.ndim == 0:
        raise DataError(f"{path} holds a single number (a 0-d array), not rows of inputs", Pos(path),
                        "save an array of shape [N, features]")
    if x.ndim == 1:
        x = x[:, None]
    with np.errstate(over="ignore"):
        return x.astype(np.float32)


def fit_input(x, shape: tuple, path: str, model_name: str):
    """Reshape [N, F] rows to [N, *shape], or raise a DataError about the feature count."""
    import numpy as np

    from specc.errors import DataError
    from specc.ir import Pos

    if len(x) == 0:
        raise DataError(f"{path} has no rows to predict", Pos(path))
    if None in shape:  # a model not from specc with unknown dims: pass through
        return x
    need = int(np.prod(shape))
    if tuple(x.shape[1:]) == tuple(shape):
        return x
    have = int(np.prod(x.shape[1:]))
    if have == need:
        return x.reshape((len(x), *shape))
    raise DataError(f"{path} has {have} features per row but model `{model_name}` expects {need} "
                    f"(input shape {list(shape)})", Pos(path))


def result_table(y, meta: dict):
    """(header, rows) for the output CSV from outputs y [N, ...] and the model metadata."""
    import numpy as np

    from specc.backends.onnx.metadata import read_classes

    kind, classes = meta.get("output_kind", "values"), read_classes(meta)
    if y.ndim == 3 and kind in ("probabilities", "log_probabilities"):  # a class per position: its name per column
        names = classes if classes and len(classes) == y.shape[2] else [str(i) for i in range(y.shape[2])]
        return [f"class_{t}" for t in range(y.shape[1])], [[names[i] for i in row] for row in y.argmax(-1)]
    y = y.reshape(len(y), -1).astype(np.float64)
    k = y.shape[1]
    if kind == "log_probabilities":
        y, kind = np.exp(y), "probabilities"
    if kind == "probabilities" and k > 1:
        names = classes if classes and len(classes) == k else [str(i) for i in range(k)]
        pred = [names[i] for i in y.argmax(1)]
        return ["class"] + [f"p_{n}" for n in names], [[c, *row] for c, row in zip(pred, y)]
    if kind == "sigmoid" and k == 1:
        names = classes if classes and len(classes) == 2 else ["0", "1"]
        pred = [names[int(p > 0.5)] for p in y[:, 0]]
        return ["class", f"p_{names[1]}"], [[c, p] for c, p in zip(pred, y[:, 0])]
    prefix = "p" if kind in ("probabilities", "sigmoid") else "y"
    return [f"{prefix}_{i}" for i in range(k)], [list(row) for row in y]


def cell(v) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula (=, +, -, @, tab, CR) is quoted with '."""
    if not isinstance(v, str):
        return f"{v:.9g}"
    return "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v


def write_csv(header, rows, out) -> None:
    import csv

    w = csv.writer(out, lineterminator="\n")
    w.writerow([cell(h) for h in header])
    for row in rows:
        w.writerow([cell(v) for v in row])


def nonfinite_rows(x, path: str, allow: bool):
    """Rows holding NaN/inf: refused (a DataError naming the first) unless --allow-nan; returns their mask."""
    import numpy as np

    from specc.errors import DataError
    from specc.ir import Pos

    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any() and not allow:
        row = int(np.flatnonzero(bad)[0])
        raise DataError(f"input row {row + 1} holds NaN or inf ({int(bad.sum())} such rows); the model would "
                        "print a made-up class for it", Pos(path), "fix the rows, or pass --allow-nan to predict "
                        "the others and leave these rows' cells empty")
    return bad


def check_output(y, n: int, model_name: str) -> None:
    """predict writes one row per input: a model whose output is not [N, ...] is refused."""
    from specc.errors import SpecError
    from specc.ir import Pos

    if y.ndim == 0 or y.shape[0] != n:
        raise SpecError(f"model `{model_name}` gives an output of shape {list(y.shape)} for {n} input rows, not one "
                        "row per input; predict cannot tell which output belongs to which row", Pos(model_name))


def _input_files(args, inputs):
    """(input name, shape, file) for every model input, from the positional file and --input NAME=FILE."""
    from specc.errors import SpecError
    from specc.ir import Pos

    named = {}
    for item in args.named:
        name, eq, path = item.partition("=")
        if not eq or not name or not path:
            raise SpecError(f"--input takes NAME=FILE, got `{item}`", Pos(args.model))
        named[name] = path
    names = [name for name, _shape in inputs]
    unknown = [n for n in named if n not in names]
    if unknown:
        raise SpecError(f"the model has no input `{unknown[0]}`", Pos(args.model), f"its inputs: {', '.join(names)}")
    if args.input is not None:
        if len(names) > 1:
            raise SpecError(f"the model has {len(names)} inputs ({', '.join(names)}): give each with --input NAME=FILE",
                            Pos(args.model))
        named.setdefault(names[0], args.input)
    missing = [n for n in names if n not in named]
    if missing:
        raise SpecError(f"no file for the model input{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                        Pos(args.model), "pass INPUT (one input) or --input NAME=FILE for each")
    args._paths = named
    return [(name, shape, named[name]) for name, shape in inputs]


def _path_of(args, name: str) -> str:
    return args._paths[name]


def run(args) -> int:
    import numpy as np

    from specc.backends.onnx import runtime
    from specc.errors import SpecError
    from specc.ir import Pos

    if args.model.endswith(".nn"):
        raise SpecError(f"{args.model} is a spec; predict runs an exported ONNX model", Pos(args.model),
                        f"export it first: specc export {args.model} --weights RUN_DIR -o model.onnx")
    model = runtime.load_checked(args.model)
    meta = runtime.metadata(model)
    name_of_model = meta.get("model_name", args.model)
    xs = {name: fit_input(read_input(path), shape, path, name_of_model)
          for name, shape, path in _input_files(args, runtime.inputs_info(model))}
    n = {len(x) for x in xs.values()}
    if len(n) > 1:
        raise SpecError(f"the input files hold different numbers of rows ({', '.join(map(str, sorted(n)))})",
                        Pos(args.model), "give every input one row per example, in the same order")
    bad = np.zeros(next(iter(n)), bool)
    for name, x in xs.items():
        bad |= nonfinite_rows(x, _path_of(args, name), args.allow_nan)
    sess = runtime.session(model)
    good = {name: x[~bad] for name, x in xs.items()}
    count = int((~bad).sum())
    ys = runtime.run_all(sess, good, max(1, args.batch)) if count else [np.zeros((0, 1), np.float32)]
    for y in ys:
        check_output(y, count, name_of_model)
    header, rows = result_table(ys[0], meta) if count else (["y_0"], [])
    for out, y in zip(sess.get_outputs()[1:], ys[1:]):  # later outputs: their values, named by the output
        flat = y.reshape(len(y), -1).astype(np.float64)
        header += [f"{out.name}.y_{i}" for i in range(flat.shape[1])]
        rows = [r + list(v) for r, v in zip(rows, flat)]
    if bad.any():  # --allow-nan: every input keeps its row; a NaN/inf row's cells stay empty
        it = iter(rows)
        rows = [[""] * len(header) if b else next(it) for b in bad]
    if args.output:
        from specc.files import output_file

        output_file(args.output, "output")
        try:
            with open(args.output, "w", newline="", encoding="utf-8") as f:
                write_csv(header, rows, f)
        except OSError as e:
            raise SpecError(f"cannot write {args.output}: {e.strerror or e}", Pos(args.output),
                            "-o takes a file path in an existing directory") from None
        print(f"wrote {len(rows)} predictions to {args.output}", file=sys.stderr)
    else:
        write_csv(header, rows, sys.stdout)
    return 0
