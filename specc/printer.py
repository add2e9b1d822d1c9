"""Canonical `.nn` text, two ways.

format_syntax(spec)     the user's file, reformatted: blocks, comments and numbers
                        as written are kept (this is `specc fmt`).
format_program(program) the checked IR as a self-contained spec: blocks expanded,
                        every initializer and path resolved (the run directory's
                        spec.nn). compile(format_program(p)) == p.
"""
from __future__ import annotations

from . import syntax as S
from .ir import DataSpec, Program, Source, Spec, TrainSpec
from .ops import LOSSES, OPS, OPTIMIZERS, SCHEDULES
from .values import show

INDENT = "    "


# ---- format_syntax -------------------------------------------------------

class _Comments:
    """Places comments: full-line ones before the next statement, trailing ones after theirs."""

    def __init__(self, spec: S.SpecFile):
        lines = [l.rstrip("\r") for l in spec.text.split("\n")]  # lines as Lark counts them
        self.full, self.trailing = [], {}
        for c in spec.comments:
            before = lines[c.line - 1][: c.column - 1] if c.line - 1 < len(lines) else ""
            if before.strip():
                self.trailing[c.line] = c.text
            else:
                self.full.append(c)
        self.full.sort(key=lambda c: c.line)

    def before(self, line: int, indent: str) -> list[str]:
        out = []
        while self.full and self.full[0].line < line:
            out.append(indent + self.full.pop(0).text)
        return out

    def after(self, line: int) -> str:
        text = self.trailing.pop(line, None)
        return f"  {text}" if text else ""

    def rest(self) -> list[str]:
        out = [c.text for c in self.full] + [self.trailing[k] for k in sorted(self.trailing)]
        self.full, self.trailing = [], {}
        return out


def _args(args, kwargs) -> str:
    parts = [show(a) for a in args] + [f"{k.name}={show(k.value)}" for k in kwargs]
    return ", ".join(parts)


def _stmt_text(stmt) -> str:
    if isinstance(stmt, S.InputDecl):
        return "input " + (f"{stmt.name} " if stmt.name else "") + show(stmt.shape) + (
            f" {stmt.dtype}" if stmt.dtype else "")
    if isinstance(stmt, S.FromStmt):
        return f"from {stmt.name}"
    if isinstance(stmt, S.OutputStmt):
        return "output" + (f" {stmt.name}" if stmt.name else "")
    if isinstance(stmt, S.LayerUse):
        return stmt.op + (f"({_args(stmt.args, stmt.kwargs)})" if stmt.has_parens else "")
    if isinstance(stmt, S.Assign):
        return f"{stmt.key} = {show(stmt.value)}"
    raise TypeError(stmt)


def _body(stmts, depth: int, end_line: int, comments: _Comments, out: list[str]) -> None:
    indent = INDENT * depth
    for i, stmt in enumerate(stmts):
        line = stmt.pos.line
        out.extend(comments.before(line, indent))
        if isinstance(stmt, S.Residual):
            out.append(f"{indent}residual {{" + comments.after(line))
            _body(stmt.body, depth + 1, stmt.end_line, comments, out)
            out.append(f"{indent}}}")
            continue
        last_on_line = i + 1 == len(stmts) or stmts[i + 1].pos.line != line
        out.append(indent + _stmt_text(stmt) + (comments.after(line) if last_on_line else ""))
    if end_line:
        out.extend(comments.before(end_line, indent))


def format_syntax(spec: S.SpecFile) -> str:
    comments = _Comments(spec)
    out: list[str] = []
    for n, item in enumerate(spec.items):
        if n:
            out.append("")
        out.extend(comments.before(item.pos.line, ""))
        if isinstance(item, S.ModelDecl):
            head, body = f"model {item.name} {{", item.body
        elif isinstance(item, S.BlockDecl):
            params = ", ".join(p.name + (f"={show(p.default)}" if p.default is not None else "") for p in item.params)
            head, body = f"block {item.name}({params}) {{", item.body
        else:
            head, body = f"{item.kind} {{", item.assigns
        out.append(head + comments.after(item.pos.line))
        _body(body, 1, item.end_line, comments, out)
        out.append("}" + comments.after(item.end_line))
    rest = comments.rest()
    if rest:
        out.extend([""] + rest if out else rest)
    return "\n".join(out) + "\n"


# ---- format_program ---------------------------------------------------------

def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Spec):  # a nested schedule: warmup's `then`
        return _call(v, SCHEDULES.get(v.name))
    return str(v)


def _ref(value: str) -> str:
    """A value name as a `from` or merge argument: block-local names (`use.name`) are quoted."""
    return f'"{value}"' if "." in value else value


def _model(m) -> list[str]:
    """The graph as a chain: `from NAME` where a layer does not take the value just computed,
    merges naming their inputs, `name=` wherever the default name would differ."""
    out = [f"model {m.name} {{"]
    for inp in m.inputs:
        name = "" if (inp.name == "input" and len(m.inputs) == 1) else f"{inp.name} "
        out.append(f"{INDENT}input {name}{_value(list(inp.shape))}" + (" int" if inp.dtype == "int" else ""))
    taken = {layer.name for layer in m.layers} | {i.name for i in m.inputs}
    counters: dict[str, int] = {}
    current = m.inputs[0].name if m.inputs else None
    outputs = {o.value: [] for o in m.outputs}
    for o in m.outputs:
        outputs[o.value].append(o)
    implicit = len(m.outputs) == 1 and m.outputs[0].name in ("output", "prediction") and \
        m.layers and m.outputs[0].value == m.layers[-1].name
    for layer in m.layers:
        op = OPS[layer.op]
        if op.kind != "merge" and layer.inputs[0] != current:
            out.append(f"{INDENT}from {_ref(layer.inputs[0])}")
        n = counters.get(layer.op, 0)
        while True:  # the default name the front end would give (skipping names in use)
            n += 1
            if f"{layer.op}_{n}" not in taken or f"{layer.op}_{n}" == layer.name:
                break
        default = f"{layer.op}_{n}"
        args = ([_ref(v) for v in layer.inputs] if op.kind == "merge" else []) + op.print_args(layer.attrs)
        if layer.name == default:
            counters[layer.op] = n
        else:
            args.append(f'name="{layer.name}"')
        out.append(INDENT + layer.op + (f"({', '.join(args)})" if args else ""))
        current = layer.name
        if not implicit:
            for o in outputs.get(layer.name, []):
                out.append(f"{INDENT}output" + ("" if o.name == layer.name else f" {o.name}"))
    out.append("}")
    return out


def _call(spec: Spec | Source, defaults: dict | None = None, kind: str | None = None) -> str:
    name = kind or spec.name
    args = [f"{k}={_value(v)}" for k, v in spec.args.items()
            if v is not None and (defaults is None or k not in defaults or defaults[k] != v)]
    return name + (f"({', '.join(args)})" if args else "")


def _data(d: DataSpec, model) -> list[str]:
    out = []
    floats = [i.name for i in model.inputs if i.dtype != "int"]
    if d.source:
        out += [f"source = {_call(d.source, None, d.source.kind)}", f"split = {_value(list(d.split))}"]
    for key in ("train", "test"):
        src = getattr(d, key)
        if src is not None:
            out.append(f"{key} = {_call(src, None, src.kind)}")
    if isinstance(d.val, Source):
        out.append(f"val = {_call(d.val, None, d.val.kind)}")
    elif d.val is not None:
        out.append(f"val = {_value(d.val)}")
    modes = [(p.input, _standardize(p.standardize)) for p in d.prep if p.standardize]
    if modes:
        out.append(f"standardize = {_per_input(modes, floats)}")
    if d.augment:
        out.append(f"augment = [{', '.join(_call(a) for a in d.augment)}]")
    scales = [(p.input, _value(p.scale)) for p in d.prep if p.scale is not None]
    if scales:
        out.append(f"scale = {_per_input(scales, floats)}")
    if not d.shuffle:
        out.append("shuffle = false")
    if d.target:
        out.append(f"target = {d.target}")
    if d.classes:
        out.append(f"classes = {_value(list(d.classes))}")
    return out


def _standardize(mode) -> str:
    return _call(mode) if isinstance(mode, Spec) else mode if isinstance(mode, str) else "true"


def _per_input(values: list[tuple[str, str]], floats: list[str]) -> str:
    """`0.5` for the model's one float input, `{image: 0.5}` when there are several."""
    if len(floats) == 1 and [name for name, _ in values] == floats:
        return values[0][1]
    return "{" + ", ".join(f"{name}: {text}" for name, text in values) + "}"


def _loss(ol, several: bool) -> str:
    text = _call(ol.loss, LOSSES[ol.loss.name][0])
    if ol.weight != 1.0:
        text = (text[:-1] + ", " if text.endswith(")") else text + "(") + f"weight={_value(ol.weight)})"
    return text


def _train(t: TrainSpec) -> list[str]:
    several = len(t.losses) > 1 or t.losses[0].output not in ("output", "prediction")
    loss = ("{" + ", ".join(f"{ol.output}: {_loss(ol, True)}" for ol in t.losses) + "}") if several \
        else _loss(t.losses[0], False)
    out = [f"loss = {loss}",
           f"optimizer = {_call(t.optimizer, {k: v for k, v in OPTIMIZERS[t.optimizer.name].items() if k != 'lr'})}"]
    args = {k: v for k, v in t.schedule.args.items() if k != "per"}
    sched = _call(Spec(t.schedule.name, args), SCHEDULES[t.schedule.name])
    if t.schedule.args.get("per") == "epoch" and t.schedule.name != "plateau":  # plateau: always per epoch
        sched = sched[:-1] + ", per=epoch)" if sched.endswith(")") else sched + "(per=epoch)"
    out.append(f"schedule = {sched}")
    out.append(f"batch = {t.batch}")
    if getattr(t, "accumulate", 1) != 1:
        out.append(f"accumulate = {t.accumulate}")
    out.append(f"epochs = {t.epochs}" if t.steps is None else f"steps = {t.steps}")
    for key in ("l2", "weight_decay"):
        if getattr(t, key):
            out.append(f"{key} = {_value(getattr(t, key))}")
    if t.clip_norm is not None:
        out.append(f"clip_norm = {_value(t.clip_norm)}")
    if t.early_stop:
        e = t.early_stop
        out.append(f"early_stop = patience({e.patience}, monitor={e.monitor}, min_delta={_value(e.min_delta)})")
    if t.metrics:
        out.append("metrics = [" + ", ".join(_call(m) for m in t.metrics) + "]")
    if t.output_metrics:
        out.append("metrics = {" + ", ".join(f"{name}: [" + ", ".join(_call(m) for m in specs) + "]"
                                            for name, specs in t.output_metrics) + "}")
    out.append(f"seed = {t.seed}")
    if getattr(t, "dtype", "float32") != "float32":
        out.append(f"dtype = {t.dtype}")
    if t.init_from is not None:
        layers = f", layers=[{', '.join(map(_layer_name, t.init_from.layers))}]" if t.init_from.layers else ""
        out.append(f"init_from = {t.init_from.kind}({_value(t.init_from.path)}{layers})")
    if t.freeze:
        out.append(f"freeze = [{', '.join(map(_layer_name, t.freeze))}]")
    return out


def _layer_name(name: str) -> str:
    """A layer name in a list: bare, or quoted when it is a block-local name (`"res_1.main"`)."""
    return f'"{name}"' if "." in name else name


def format_program(program: Program) -> str:
    out = _model(program.model)
    for kind, lines in (("data", _data(program.data, program.model) if program.data else None),
                        ("train", _train(program.train) if program.train else None)):
        if lines is not None:
            out += ["", f"{kind} {{", *(INDENT + line for line in lines), "}"]
    return "\n".join(out) + "\n"
