"""docs/ops.md, generated from the op definitions (a test keeps the file equal to this output).

    python -m specc.ops.docs > docs/ops.md
"""
from __future__ import annotations

from . import OPS

TITLES = {"layer": "Layers", "activation": "Activations", "merge": "Merges"}
INTRO = """# Ops

Every op of the `.nn` language, generated from its one definition (`specc/ops/`):
the call with its defaults, the shape rule, the parameters in their canonical layout
(the keys of `weights.npz` are `<layer name>.<parameter>`), and what it computes.
Shapes leave out the batch axis; images are channels-first `[C, H, W]`.
Regenerate with `python -m specc.ops.docs > docs/ops.md`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\\\|") if text else "—"


def markdown() -> str:
    out = [INTRO]
    for kind, title in TITLES.items():
        out += [f"## {title}", "", "| op | shape | parameters | computes |", "|---|---|---|---|"]
        for op in OPS.values():
            if op.kind != kind:
                continue
            call = op.signature()
            exported = "" if op.exportable else " (not exported to ONNX)"
            out.append(f"| `{call}` | {_cell(op.shape_doc)} | {_cell(op.params_doc)} | {_cell(op.doc)}{exported} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")
