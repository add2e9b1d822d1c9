"""Canonical `.nn` text, two ways.

format_syntax(spec)     the user's file, reformatted: blocks, comments and numbers
                        as written are kept (this is `specc fmt`).
format_program(program) the checked IR as a self-contained spec: blocks expanded,
                        every initializer and path resolved (the run directory's
                        spec.nn). compile(format_program(p)) == p.
"""
from __future__ import annotations

from . import syntax as S
from .ir import DataSpec, Layer, Program, Source, Spec, TrainSpec
from .ops import LOSSES, OPS, OPTIMIZERS, SCHEDULES
from .passes.values import show

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
        return "input " + (f"{stmt.name} " if stmt.name else "") + show(stmt.shape)
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
    return str(v)


def _pair(p) -> str:
    return str(p[0]) if p[0] == p[1] else f"[{p[0]}, {p[1]}]"


def _layer_args(layer: Layer) -> list[str]:
    a, op = layer.attrs, layer.op
    defaults = {arg.name: arg.default for arg in OPS[op].args}
    out = []
    if op in ("dense", "maxout"):
        out.append(str(a["units"]))
        if op == "maxout" and a["pieces"] != defaults["pieces"]:
            out.append(f"pieces={a['pieces']}")
    if op == "conv2d":
        out += [str(a["filters"]), _pair(a["kernel"])]
        if tuple(a["stride"]) != (1, 1):
            out.append(f"stride={_pair(a['stride'])}")
        t, l, b, r = a["pad"]
        if (t, l) == (b, r):
            if any(a["pad"]):
                out.append(f"pad={_pair((t, l))}")
        else:
            out.append("pad=same")  # only `same` produces uneven padding
    if op in ("dense", "conv2d", "maxout"):
        args = ", ".join(_value(v) for v in a.get("init_args", {}).values())
        out.append(f"init={a['init']}" + (f"({args})" if args else ""))
        if op != "maxout" and not a["bias"]:
            out.append("bias=false")
    if op in ("maxpool", "avgpool", "l2pool"):
        out.append(_pair(a["size"]))
        if tuple(a["stride"]) != tuple(a["size"]):
            out.append(f"stride={_pair(a['stride'])}")
    if OPS[op].kind == "activation" or op in ("dropout", "batchnorm"):
        for k, v in a.items():
            if v != defaults.get(k):
                out.append(f"{k}={_value(v)}")
    return out


def _layers(layers, depth: int, counters: dict, out: list[str]) -> None:
    indent = INDENT * depth
    for layer in layers:
        counters[layer.op] = counters.get(layer.op, 0) + 1
        named = layer.name != f"{layer.op}_{counters[layer.op]}"
        if layer.op == "residual":
            out.append(f"{indent}residual {{")
            _layers(layer.body, depth + 1, counters, out)
            out.append(f"{indent}}}")
            continue
        args = _layer_args(layer) + ([f'name="{layer.name}"'] if named else [])
        out.append(indent + layer.op + (f"({', '.join(args)})" if args else ""))


def _call(spec: Spec | Source, defaults: dict | None = None, kind: str | None = None) -> str:
    name = kind or spec.name
    args = [f"{k}={_value(v)}" for k, v in spec.args.items()
            if v is not None and (defaults is None or k not in defaults or defaults[k] != v)]
    return name + (f"({', '.join(args)})" if args else "")


def _data(d: DataSpec) -> list[str]:
    out = []
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
    if d.standardize:
        out.append("standardize = true")
    if d.scale is not None:
        out.append(f"scale = {_value(d.scale)}")
    if not d.shuffle:
        out.append("shuffle = false")
    if d.target:
        out.append(f"target = {d.target}")
    if d.classes:
        out.append(f"classes = {_value(list(d.classes))}")
    return out


def _train(t: TrainSpec) -> list[str]:
    out = [f"loss = {_call(t.loss, LOSSES[t.loss.name][0])}",
           f"optimizer = {_call(t.optimizer, {k: v for k, v in OPTIMIZERS[t.optimizer.name].items() if k != 'lr'})}"]
    args = {k: v for k, v in t.schedule.args.items() if k != "per"}
    sched = _call(Spec(t.schedule.name, args), SCHEDULES[t.schedule.name])
    if t.schedule.args.get("per") == "epoch":  # a bare name, not a string
        sched = sched[:-1] + ", per=epoch)" if sched.endswith(")") else sched + "(per=epoch)"
    out.append(f"schedule = {sched}")
    out.append(f"batch = {t.batch}")
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
    out.append(f"seed = {t.seed}")
    return out


def format_program(program: Program) -> str:
    m = program.model
    name = "" if m.input_name == "input" else f"{m.input_name} "
    out = [f"model {m.name} {{", f"{INDENT}input {name}{_value(list(m.input_shape))}"]
    _layers(m.layers, 1, {}, out)
    out.append("}")
    for kind, lines in (("data", _data(program.data) if program.data else None),
                        ("train", _train(program.train) if program.train else None)):
        if lines is not None:
            out += ["", f"{kind} {{", *(INDENT + line for line in lines), "}"]
    return "\n".join(out) + "\n"
