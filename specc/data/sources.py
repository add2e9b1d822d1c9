"""The table of data sources and the dispatch from a `Source` to its loader.

`SOURCES` is the single source of truth for what each source call accepts:
name -> [(argument, type, default or specc.ops.REQUIRED)], in positional
order. The front end validates `csv(...)`, `mnist(...)` calls against it;
`load_source` only fills in defaults: it trusts what the front end checked.
Types: "int", "float", "str", "path" (a string resolved against the spec's
directory), "str?" (a string or absent: None), "names?" (a list of column
names or None), "size" ([H, W] or one number), "channels" (1 or 3).
"""
from __future__ import annotations

import os
import stat

from ..errors import DataError
from ..files import kind_of
from ..ir import Program, Source
from ..ops import SOURCES  # re-exported by specc.data: the table lives with the language
from ..rng import stream
from .generated import GENERATORS
from .types import Raw


SOURCE_DOCS = {
    "xor": "the 4 XOR points (0,0)->0 (0,1)->1 (1,0)->1 (1,1)->0, repeated to n, plus Gaussian noise",
    "spirals": "two interleaved spirals, 2 classes",
    "moons": "two interleaving half circles, 2 classes",
    "circles": "a small circle inside a large one, 2 classes",
    "blobs": "Gaussian blobs around `centers` random centres, one class each",
    "csv": "header row, numeric features; target column of numbers or labels (default: the last column)",
    "parquet": "a Parquet file: numeric feature columns, a target column of numbers or labels (default: the last)",
    "images": "an image folder, one subfolder per class (ImageFolder layout), decoded with Pillow",
    "npz": "arrays of a NumPy archive (no pickles)",
    "npy": "memory-mapped .npy files in a directory (x.npy or shards x/*.npy), streamed per batch: data larger than memory",
    "mnist": "MNIST IDX files in a directory, plain or .gz; part = train | test",
    "sklearn": "a scikit-learn bundled set: digits, iris, wine, breast_cancer, diabetes",
    "text": "a UTF-8 text cut into windows of `context` tokens; targets: the next token at each position",
    "sequences": "a CSV with a text column and a label column; token ids padded with 0 / cut to `max_len`",
}

# Role of a source -> extra stream index, so `train = moons()` and `test = moons()`
# draw different points while the main set uses exactly stream(seed, "data").
ROLE_STREAM = {"source": (), "train": (), "val": (1,), "test": (2,)}


def with_defaults(src: Source) -> dict:
    """Source.args with the table's defaults filled in. The front end checked every argument
    (passes/sections.py resolve_source); the loaders trust what it passed."""
    return {name: src.args.get(name, default) for name, _typ, default in SOURCES[src.kind]}


def resolve_path(path: str, program: Program) -> str:
    """Absolute path; relative ones are taken against the spec's directory."""
    path = os.path.expanduser(str(path))
    if not os.path.isabs(path):
        path = os.path.join(_spec_dir(program), path)
    return os.path.normpath(path)


def _spec_dir(program: Program) -> str:
    """The spec's directory; the working directory for specs compiled from a string."""
    spec = program.path
    return os.path.dirname(os.path.abspath(spec)) if spec and not spec.startswith("<") else os.getcwd()


def load_source(src: Source, program: Program, role: str = "source", want_target: bool = True) -> Raw:
    """Load one source into a Raw (native dtypes). Errors are DataErrors/SpecErrors."""
    # a source given with --set has its position in the override, not in the spec's text
    text = (program.source_text or None) if getattr(src.pos, "file", None) != "--set" else ""
    a = with_defaults(src)

    def fail(msg, hint=None):
        return DataError(msg, src.pos, hint=hint, source=text)

    if src.kind in GENERATORS:
        seed = program.train.seed if program.train is not None else 0
        x, y = GENERATORS[src.kind](stream(seed, "data", *ROLE_STREAM.get(role, ())), **a)
        label = f"{src.kind}()"
        return Raw(x=x, y=y, file=label, features=f"{x.shape[1]} features", labels=True)

    if src.kind == "sklearn":
        from .sklearn_sets import load_sklearn
        try:
            return load_sklearn(a["name"], src.pos)
        except DataError as e:
            e.source = text
            raise

    key = "dir" if src.kind in ("mnist", "images", "npy") else "path"
    path = resolve_path(a[key], program)
    if not os.path.exists(path):
        raise fail(f"data {'directory' if key == 'dir' else 'file'} not found: {path}",
                   hint=f"relative paths are resolved against the spec's directory ({_spec_dir(program)})")
    mode = os.stat(path).st_mode
    folder = {"mnist": "a directory of IDX files", "images": "a folder with one subfolder per class",
              "npy": "a directory of .npy files"}
    if src.kind not in folder and not stat.S_ISREG(mode):  # a FIFO would block, /dev/zero never ends
        raise fail(f"{path} is {kind_of(mode)}, not a regular file; a data file must be a regular file")
    if src.kind in folder and not stat.S_ISDIR(mode):
        raise fail(f"{path} is {kind_of(mode)}, not a directory; {src.kind}() reads {folder[src.kind]}")
    if src.kind == "csv":
        from .csvfile import load_csv
        return load_csv(path, a["target"], a["delimiter"], want_target, _names(a["features"]))
    if src.kind == "parquet":
        from .parquet import load_parquet
        return load_parquet(path, a["target"], want_target, _names(a["features"]))
    if src.kind == "images":
        from .images import load_images
        size = a["size"]
        size = (int(size), int(size)) if isinstance(size, (int, float)) else tuple(int(v) for v in size)
        return load_images(path, size, int(a["channels"]))
    if src.kind == "npz":
        from .npzfile import load_npz
        return load_npz(path, a["x"], a["y"], want_target)
    if src.kind == "npy":
        from .npyfiles import load_npy
        return load_npy(path, a["x"], a["y"], want_target)
    if src.kind == "text":
        from .text import load_text
        return load_text(path, a["level"], int(a["context"]), int(a["stride"] or a["context"]))
    if src.kind == "sequences":
        from .text import load_sequences
        return load_sequences(path, a["text"], a["target"], a["level"], int(a["max_len"]), int(a["vocab"]))
    if src.kind == "mnist":
        from .idx import load_mnist
        return load_mnist(path, a["part"])
    raise fail(f"no loader for data source `{src.kind}`")  # a SOURCES row without a loader


def _names(features) -> list[str] | None:
    return None if features is None else [str(f) for f in features]
