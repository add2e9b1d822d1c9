"""Pass: `data { }` and `train { }` assignments -> DataSpec and TrainSpec.

Every key and value is checked here, statically: unknown keys (with a "did you
mean"), wrong types, out-of-range values (lr <= 0, batch <= 0, ...), and the
combinations that cannot work (both `epochs` and `steps`, `source` and `train`).
"""
from __future__ import annotations

import os
from dataclasses import replace

from .. import syntax as S
from ..errors import Collector, SpecError, did_you_mean
from ..ir import DataSpec, EarlyStop, InitFrom, InputPrep, Model, OutputLoss, Pos, Source, Spec, TrainSpec
from ..ops import AUGMENTS, LOSSES, METRICS, OPTIMIZERS, REQUIRED, SCHEDULES, SOURCES
from ..ops.catalog import metric_columns, metric_uses
from ..values import (as_bool, as_float, as_int, as_name, as_number_list, as_pair, as_str, bind, call_parts, is_value,
                      plain, show)

DATA_KEYS = ("source", "split", "train", "val", "test", "standardize", "scale", "shuffle", "target", "classes",
             "augment")
TRAIN_KEYS = ("loss", "optimizer", "schedule", "batch", "accumulate", "epochs", "steps", "l2", "weight_decay",
              "clip_norm", "early_stop", "metrics", "seed", "dtype", "init_from", "freeze")
DTYPES = ("float32", "float64")
DEFAULT_SPLIT = (0.8, 0.1, 0.1)


def _assigns(section: S.Section | None, keys, errors: Collector) -> dict[str, S.Assign]:
    """Assignments by key; unknown and repeated keys are errors."""
    out: dict[str, S.Assign] = {}
    if section is None:
        return out
    for a in section.assigns:
        if a.key not in keys:
            errors.add(f"unknown key `{a.key}` in `{section.kind}`", a.pos,
                       did_you_mean(a.key, keys) or f"known keys: {', '.join(keys)}")
        elif a.key in out:
            errors.add(f"`{a.key}` is set twice in `{section.kind}` (first at line {out[a.key].pos.line})", a.pos)
        else:
            out[a.key] = a
    return out


def _checked(errors: Collector, fn, *args):
    """Run one check; on SpecError record it and return None (so later keys are still checked)."""
    try:
        return fn(*args)
    except SpecError as e:
        errors.extend([e])
        return None


# ---- data -------------------------------------------------------------------

def resolve_source(v, spec_dir: str, what: str) -> Source:
    name, args, kwargs, pos = call_parts(v, what)
    table = SOURCES
    if name not in table:
        raise SpecError(f"unknown data source `{name}`", pos, did_you_mean(name, table) or
                        f"sources: {', '.join(sorted(table))}")
    schema = {arg: default for arg, _type, default in table[name]}
    bound = bind(name, args, kwargs, schema, "data source", pos)
    resolved = {}
    for arg, typ, default in table[name]:
        value = bound[arg]
        w = f"{name}'s `{arg}`"
        if not is_value(value):
            resolved[arg] = value  # default
        elif typ == "path":
            p = os.path.expanduser(as_str(value, w))  # `~/data.csv` as in a shell
            resolved[arg] = p if os.path.isabs(p) else os.path.normpath(os.path.join(spec_dir, p))
        elif typ == "int":
            resolved[arg] = as_int(value, w, lo=1)
        elif typ == "float":
            resolved[arg] = as_float(value, w, lo=0)
        elif typ == "bool":
            resolved[arg] = as_bool(value, w)
        elif typ in ("str", "str?"):
            resolved[arg] = as_name(value, w)
        elif typ == "char":
            resolved[arg] = as_name(value, w)
            if len(resolved[arg]) != 1:
                raise SpecError(f"{w} must be one character, got {resolved[arg]!r}", value.pos,
                                'e.g. delimiter=";" or delimiter="\\t"')
        elif isinstance(typ, tuple):  # one of a few names
            resolved[arg] = as_name(value, w)
            if resolved[arg] not in typ:
                raise SpecError(f"{w} must be one of {', '.join(typ)}; got {resolved[arg]!r}", value.pos,
                                did_you_mean(resolved[arg], typ))
        elif typ == "names":  # one key, or a list of keys (one per model input / output)
            if isinstance(value, S.ListV):
                if not value.items:
                    raise SpecError(f"{w} must name at least one key", value.pos)
                resolved[arg] = [as_name(i, w) for i in value.items]
            else:
                resolved[arg] = as_name(value, w)
        elif typ == "names?":
            if not isinstance(value, S.ListV) or not value.items:
                raise SpecError(f"{w} must be a list of column names, got `{show(value)}`", value.pos)
            resolved[arg] = tuple(as_name(i, w) for i in value.items)
        elif typ == "size":
            resolved[arg] = as_pair(value, w)
        elif typ == "channels":
            resolved[arg] = as_int(value, w, lo=1)
            if resolved[arg] not in (1, 3):
                raise SpecError(f"{w} must be 1 (grey) or 3 (RGB), got {resolved[arg]}", value.pos)
        else:
            resolved[arg] = plain(value)
    return Source(name, resolved, pos)


def resolve_data(section: S.Section | None, spec_dir: str, errors: Collector) -> DataSpec | None:
    if section is None:
        return None
    a = _assigns(section, DATA_KEYS, errors)
    val = lambda k: a[k].value if k in a else None  # noqa: E731
    src = lambda k: _checked(errors, resolve_source, val(k), spec_dir, f"`{k}`") if k in a else None  # noqa: E731
    source, train, test = src("source"), src("train"), src("test")
    if "source" in a and "train" in a:
        errors.add("`data` sets both `source` and `train`", a["train"].pos,
                   "use `source` with `split`, or `train` (with optional `val`, `test`)")
    # Neither `source` nor `train`: the data comes from Python (specc.compile(spec).train(x=..., y=...)) and
    # the block only sets preprocessing (scale, standardize, classes, ...); `specc train` says so (data/load.py).
    split = None
    if "split" in a:
        split = _checked(errors, _split, val("split"))
        if "train" in a:
            errors.add("`split` goes with `source`, not with `train`", a["split"].pos)
        elif "source" not in a:
            errors.add("`split` divides `source`, and this data block has none", a["split"].pos,
                       "add `source = ...`, or pass val=(x, y) and test=(x, y) to train() in Python")
    elif "source" in a:
        split = DEFAULT_SPLIT
    for key in ("val", "test"):
        if key in a and "source" not in a and "train" not in a:
            errors.add(f"`{key}` goes with `train = ...`, and this data block has none", a[key].pos,
                       f"add `train = ...`, or pass {key}=(x, y) to train() in Python")
    v = None
    if "val" in a:
        if "source" in a:
            errors.add("`val` cannot be used with `source`; give the fraction in `split`", a["val"].pos)
        elif isinstance(val("val"), S.Lit):
            v = _checked(errors, as_float, val("val"), "`val`", 0.0, 1.0, False, True)
        else:
            v = src("val")
    if "test" in a and "source" in a:
        errors.add("`test` cannot be used with `source`; give the fraction in `split`", a["test"].pos)
    target = None
    if "target" in a:
        target = _checked(errors, as_name, val("target"), "target", {"input"})
    classes = None
    if "classes" in a:
        classes = _checked(errors, _classes, val("classes"))
    scales = _checked(errors, _per_input, val("scale"), lambda x: as_float(x, "`scale`", 0.0, None, True)) \
        if "scale" in a else ()
    modes = _checked(errors, _per_input, val("standardize"), _standardize) if "standardize" in a else ()
    prep: dict[str, InputPrep] = {}
    for name, scale, pos in scales or ():
        prep[name] = InputPrep(name, scale=scale, pos=pos)
    for name, mode, pos in modes or ():
        prep[name] = replace(prep.get(name, InputPrep(name, pos=pos)), standardize=mode)
    return DataSpec(
        source=source, split=split, train=train, val=v, test=test,
        prep=tuple(p for p in prep.values() if p.scale is not None or p.standardize),
        shuffle=(_checked(errors, as_bool, val("shuffle"), "`shuffle`") is not False) if "shuffle" in a else True,
        target=target, classes=classes, pos=section.pos,
        augment=(_checked(errors, _augment, val("augment")) or ()) if "augment" in a else ())


def _split(v) -> tuple[float, ...]:
    parts = as_number_list(v, "`split`")
    if len(parts) not in (2, 3) or any(p < 0 for p in parts):
        raise SpecError(f"`split` must be [train, val, test] fractions, got `{show(v)}`", v.pos)
    if abs(sum(parts) - 1.0) > 1e-6:
        raise SpecError(f"`split` fractions must add up to 1, they add up to {sum(parts):g}", v.pos)
    if parts[0] <= 0:
        raise SpecError("`split` must keep some data for training", v.pos)
    return tuple(parts) if len(parts) == 3 else (parts[0], 0.0, parts[1])


ANY_INPUT = ""  # the input of a plain `scale = 0.5`, named by resolve_prep once the model is known


def _per_input(v, parse) -> tuple[tuple[str, object, Pos], ...]:
    """`scale = 0.5` -> (("", 0.5, pos),); `scale = {image: 0.5, meta: 0.1}` -> (input, value, pos) per entry
    (the parser refuses a key given twice)."""
    if not isinstance(v, S.MapV):
        return ((ANY_INPUT, parse(v), v.pos),)
    return tuple((name, parse(value), getattr(value, "pos", v.pos)) for name, value in v.items)


def resolve_prep(model: Model | None, data: DataSpec | None, errors: Collector) -> DataSpec | None:
    """Name the input of a plain `scale`/`standardize`, and check that the inputs a map names exist and hold
    numbers. A plain value goes to the model's one float input; with several, the user says which."""
    if model is None or data is None or not data.prep:
        return data
    floats = [i.name for i in model.inputs if i.dtype != "int"]
    names = [i.name for i in model.inputs]
    out = []
    for p in data.prep:
        keys = " / ".join(k for k, on in (("scale", p.scale is not None), ("standardize", p.standardize)) if on)
        if p.input == ANY_INPUT and len(floats) == 1:
            p = replace(p, input=floats[0])
        elif p.input == ANY_INPUT and not floats:
            errors.add("the model input holds token ids, which are not scaled or standardized", p.pos,
                       f"remove `{keys}` from the data block")
            continue
        elif p.input == ANY_INPUT:
            kind = "inputs" if len(floats) == len(names) else "numeric inputs"
            errors.add(f"the model has {len(floats)} {kind} ({', '.join(floats)}); say which one `{keys}` is for",
                       p.pos, f"e.g. `{keys.split(' / ')[0]} = {{{floats[0]}: ...}}`; inputs not named are "
                                 "used as given")
            continue
        elif p.input not in names:
            errors.add(f"`{keys}` names input `{p.input}`, which the model does not have", p.pos,
                       did_you_mean(p.input, names) or f"inputs: {', '.join(names)}")
            continue
        elif p.input not in floats:
            errors.add(f"input `{p.input}` holds token ids, which are not scaled or standardized", p.pos,
                       f"leave `{p.input}` out of `{keys}`")
            continue
        out.append(p)
    order = {n: k for k, n in enumerate(names)}
    return replace(data, prep=tuple(sorted(out, key=lambda p: order[p.input])))


def _standardize(v) -> bool | str | Spec:
    """`true`/`false`, `per_channel`, or `normalize(mean=[...], std=[...])` (given per-channel statistics)."""
    if isinstance(v, S.NameV) and v.id == "per_channel":
        return "per_channel"
    if not isinstance(v, S.CallV):
        if isinstance(v, S.NameV) and v.id not in ("true", "false"):
            raise SpecError(f"`standardize` must be true, false, per_channel or normalize(mean=[...], std=[...]), "
                            f"got `{show(v)}`", v.pos, did_you_mean(v.id, ["per_channel", "normalize"]))
        return as_bool(v, "`standardize`")
    name, args, kwargs, pos = call_parts(v, "`standardize`")
    if name != "normalize":
        raise SpecError(f"`standardize` takes normalize(mean=[...], std=[...]), not `{name}(...)`", pos,
                        did_you_mean(name, ["normalize"]))
    bound = bind(name, args, kwargs, {"mean": REQUIRED, "std": REQUIRED}, "standardize", pos)
    mean = as_number_list(bound["mean"], "normalize's `mean`")
    std = as_number_list(bound["std"], "normalize's `std`")
    if not mean or not std or len(mean) != len(std):
        raise SpecError(f"normalize(): `mean` and `std` need one value per channel, got {len(mean)} and {len(std)}",
                        pos)
    if any(s <= 0 for s in std):
        raise SpecError("normalize(): every `std` must be above 0", bound["std"].pos)
    return Spec("normalize", {"mean": tuple(mean), "std": tuple(std)}, pos)


def _augment(v) -> tuple[Spec, ...]:
    """`augment = [random_crop(pad=4), hflip, random_rotate(15), noise(0.1)]`, checked against AUGMENTS."""
    items = v.items if isinstance(v, S.ListV) else (v,)
    out = []
    for item in items:
        name, args, kwargs, pos = call_parts(item, "an augmentation")
        if name not in AUGMENTS:
            raise SpecError(f"unknown augmentation `{name}`", pos, did_you_mean(name, AUGMENTS) or
                            f"augmentations: {', '.join(AUGMENTS)}")
        bound = bind(name, args, kwargs, {a: d for a, _, d in AUGMENTS[name]}, "augmentation", pos)
        resolved = {}
        for arg, typ, _default in AUGMENTS[name]:
            value, w = bound[arg], f"{name}'s `{arg}`"
            if not is_value(value):
                resolved[arg] = value
            elif typ == "size?":
                resolved[arg] = as_pair(value, w)
            elif typ == "int0":
                resolved[arg] = as_int(value, w, lo=0)
            elif typ == "prob":
                resolved[arg] = as_float(value, w, 0.0, 1.0)
            else:  # float+
                resolved[arg] = as_float(value, w, 0.0, None, True)
        out.append(Spec(name, resolved, pos))
    return tuple(out)


def _classes(v) -> tuple[str, ...]:
    if not isinstance(v, S.ListV) or not v.items:
        raise SpecError(f"`classes` must be a list of names, got `{show(v)}`", v.pos)
    for item in v.items:
        if not (isinstance(item, S.NameV) or (isinstance(item, S.Lit) and isinstance(item.value, (str, int))
                                               and not isinstance(item.value, bool))):
            raise SpecError(f"a class must be a name, string or whole number, got `{show(item)}`", item.pos)
    names = tuple(str(plain(i)) for i in v.items)
    if len(set(names)) != len(names):
        raise SpecError("`classes` lists a name twice", v.pos)
    return names


# ---- train -------------------------------------------------------------------

def _named_call(v, table: dict, what: str) -> Spec:
    """`adam(lr=1e-3)` or `mse` against a table {name: {arg: default}}; numbers checked."""
    name, args, kwargs, pos = call_parts(v, what)
    if name not in table:
        raise SpecError(f"unknown {what} `{name}`", pos, did_you_mean(name, table) or f"one of: {', '.join(table)}")
    schema = dict(table[name])
    extra = {"per": "step"} if table is SCHEDULES else {}
    bound = bind(name, args, kwargs, {**schema, **extra}, what, pos)
    out = {}
    for k, x in bound.items():
        if is_value(x):
            out[k] = plain(x)
            if isinstance(out[k], S.CallV):
                raise SpecError(f"`{k}` of {what} `{name}` must be a value, got `{show(x)}`", x.pos)
        else:
            out[k] = x
    return Spec(name, out, pos), bound


def resolve_loss(v) -> tuple[Spec, float]:
    """One loss call, and its `weight` in the total (only meaningful with several outputs)."""
    weight = 1.0
    if isinstance(v, S.CallV) and any(k.name == "weight" for k in v.kwargs):
        kw = next(k for k in v.kwargs if k.name == "weight")
        weight = as_float(kw.value, "a loss `weight`", lo=0.0, lo_open=True)
        v = S.CallV(v.name, v.args, tuple(k for k in v.kwargs if k.name != "weight"), v.pos)
    spec, bound = _named_call(v, {k: d for k, (d, _) in LOSSES.items()}, "loss")
    given = {k: x for k, x in bound.items() if isinstance(x, (S.Lit, S.NameV, S.ListV))}
    for k, x in given.items():
        spec.args[k] = _LOSS_ARG_CHECKS[k](x, f"{spec.name}'s `{k}`")
    return spec, weight


def _class_weights(x, w):
    """`balanced` (resolved on the training split by the driver) or one weight >= 0 per class."""
    if isinstance(x, (S.NameV, S.Lit)) and plain(x) == "balanced":
        return "balanced"
    if not isinstance(x, S.ListV) or not x.items:
        raise SpecError(f"{w} must be `balanced` or a list of per-class weights, got `{show(x)}`", x.pos,
                        "e.g. `weights=[1, 5]` or `weights=balanced`")
    values = [as_float(i, w, lo=0.0) for i in x.items]
    if not any(values):
        raise SpecError(f"{w} must not all be 0", x.pos)
    return values


def _pos_weight(x, w):
    """One positive-class weight > 0, or one per output unit."""
    if isinstance(x, S.ListV):
        if not x.items:
            raise SpecError(f"{w} must not be empty", x.pos)
        return [as_float(i, w, lo=0.0, lo_open=True) for i in x.items]
    return as_float(x, w, lo=0.0, lo_open=True)


_LOSS_ARG_CHECKS = {
    "delta": lambda x, w: as_float(x, w, lo=0.0, lo_open=True),
    "weights": _class_weights,
    "label_smoothing": lambda x, w: as_float(x, w, lo=0.0, hi=1.0),
    "pos_weight": _pos_weight,
    "gamma": lambda x, w: as_float(x, w, lo=0.0),
}


def resolve_losses(v, model: Model | None) -> tuple[OutputLoss, ...]:
    """`loss = mse` for one output; `loss = {a: cross_entropy, b: mse(weight=0.5)}` for several."""
    names = [o.name for o in model.outputs] if model is not None else None
    if not isinstance(v, S.MapV):
        if names is not None and len(names) > 1:
            raise SpecError(f"the model has {len(names)} outputs ({', '.join(names)}); give one loss per output",
                            v.pos, "e.g. `loss = {" + ", ".join(f"{n}: mse" for n in names) + "}`")
        spec, weight = resolve_loss(v)
        return (OutputLoss(names[0] if names else "output", spec, weight),)
    out = {}
    for key, value in v.items:
        _check_output_name(key, getattr(value, "pos", v.pos), names)
        spec, weight = resolve_loss(value)
        out[key] = OutputLoss(key, spec, weight)
    missing = [n for n in names or () if n not in out]
    if missing:
        raise SpecError(f"no loss for output{'s' if len(missing) > 1 else ''} {', '.join(missing)}", v.pos,
                        "give every output a loss (a small `weight` if it should count little)")
    order = names or list(out)
    return tuple(out[n] for n in order)


_UNIT = dict(lo=0.0, hi=1.0, hi_open=True)  # momentum, betas, rho: [0, 1)


def resolve_optimizer(v) -> Spec:
    spec, bound = _named_call(v, OPTIMIZERS, "optimizer")
    name = spec.name
    for k, x in bound.items():
        if not is_value(x):
            continue
        w = f"{name}'s `{k}`"
        if k == "nesterov":
            spec.args[k] = as_bool(x, w)
        elif k in ("lr", "eps"):
            spec.args[k] = as_float(x, w, lo=0.0, lo_open=True)
        elif k in ("momentum", "beta1", "beta2", "rho"):
            spec.args[k] = as_float(x, w, **_UNIT)
        elif k == "weight_decay":
            spec.args[k] = as_float(x, w, lo=0.0)
    if spec.args.get("nesterov") and not spec.args.get("momentum"):
        raise SpecError("nesterov needs momentum > 0", v.pos, "e.g. `sgd(lr=0.1, momentum=0.9, nesterov=true)`")
    for k in ("lr",):
        if isinstance(spec.args.get(k), bool) or not isinstance(spec.args.get(k), (int, float)):
            raise SpecError(f"{name}'s `{k}` must be a number", v.pos)
    return spec


def resolve_schedule(v, nested: bool = False) -> Spec:
    """A schedule call; `nested` for warmup's `then` (no `per` of its own, no second warmup)."""
    then = None
    if isinstance(v, S.CallV) and v.name == "warmup" and any(k.name == "then" for k in v.kwargs):
        then = next(k for k in v.kwargs if k.name == "then").value
        v = S.CallV(v.name, v.args, tuple(k for k in v.kwargs if k.name != "then"), v.pos)
    spec, bound = _named_call(v, SCHEDULES, "schedule")
    a, name = spec.args, spec.name
    if nested:
        if is_value(bound["per"]):
            raise SpecError("`per` goes on the outer `warmup(...)`, not on its `then` schedule", bound["per"].pos)
        del a["per"]
        if name == "warmup":
            raise SpecError("`warmup` cannot warm up into another `warmup`", v.pos)
    if name == "warmup":
        _check_warmup(spec, bound, then, v.pos)
        return spec
    if name == "plateau":
        _check_plateau(spec, bound, nested, v.pos)
        return spec
    checks = {
        "every": lambda x, w: as_int(x, w, lo=1),
        "gamma": lambda x, w: as_float(x, w, lo=0.0, lo_open=True),
        "base": lambda x, w: as_float(x, w, lo=0.0, lo_open=True),
        "s": lambda x, w: as_float(x, w, lo=0.0, lo_open=True),
        "p": lambda x, w: as_float(x, w, lo=0.0, lo_open=True),
        "max_lr": lambda x, w: as_float(x, w, lo=0.0, lo_open=True),
        "final_lr": lambda x, w: as_float(x, w, lo=0.0),
        "min_lr": lambda x, w: as_float(x, w, lo=0.0),
        "per": lambda x, w: as_name(x, "`per`", {"step", "epoch"}),
        "boundaries": lambda x, w: [as_int(i, w, lo=0) for i in _items(x, w)],
        "values": lambda x, w: [as_float(i, w, lo=0.0) for i in _items(x, w)],
    }
    for k, x in bound.items():
        if isinstance(x, (S.Lit, S.NameV, S.ListV)):
            a[k] = checks[k](x, f"{name}'s `{k}`")
    if name == "piecewise":
        b, vals = a["boundaries"], a["values"]
        if len(vals) != len(b) + 1:
            raise SpecError(f"piecewise needs one more value than boundaries ({len(b)} boundaries, {len(vals)} values)",
                            v.pos)
        if any(x >= y for x, y in zip(b, b[1:])):
            raise SpecError("piecewise boundaries must increase", v.pos)
    return spec


def _check_warmup(spec: Spec, bound: dict, then, pos) -> None:
    """warmup(steps=N | epochs=N, then=<schedule>): exactly one length; `then` a nested schedule."""
    a = spec.args
    given = [k for k in ("steps", "epochs") if is_value(bound[k])]
    if len(given) != 1:
        raise SpecError("`warmup` needs exactly one of `steps=N` or `epochs=N`", pos, "e.g. `warmup(steps=500, then=cosine)`")
    a[given[0]] = as_int(bound[given[0]], f"warmup's `{given[0]}`", lo=1)
    if a["per"] == "epoch" and given[0] == "steps":
        raise SpecError("`warmup(steps=...)` with `per=epoch`: the lr changes once per epoch", pos,
                        "use `warmup(epochs=N, ..., per=epoch)`, or drop `per=epoch`")
    a["then"] = resolve_schedule(then, nested=True) if then is not None else Spec("constant", {}, pos)


def _check_plateau(spec: Spec, bound: dict, nested: bool, pos) -> None:
    """plateau(factor, patience, monitor, min_lr, threshold, threshold_mode, cooldown): stepped once per epoch."""
    if nested:
        raise SpecError("`plateau` cannot follow a warmup: it is driven by a metric, not by the step", pos,
                        "use `schedule = plateau(...)` alone (its lr starts at the optimizer's lr)")
    a = spec.args
    if is_value(bound["per"]) and a["per"] != "epoch":
        raise SpecError("`plateau` is stepped once per epoch, after validation; it takes no `per=step`",
                        bound["per"].pos)
    a["per"] = "epoch"
    checks = {
        "factor": lambda x, w: as_float(x, w, lo=0.0, hi=1.0, lo_open=True, hi_open=True),
        "patience": lambda x, w: as_int(x, w, lo=0),
        "monitor": lambda x, w: "train_loss" if as_name(x, "monitor") == "loss" else as_name(x, "monitor"),
        "min_lr": lambda x, w: as_float(x, w, lo=0.0),
        "threshold": lambda x, w: as_float(x, w, lo=0.0),
        "threshold_mode": lambda x, w: as_name(x, "threshold_mode", {"rel", "abs"}),
        "cooldown": lambda x, w: as_int(x, w, lo=0),
    }
    for k, check in checks.items():
        if is_value(bound[k]):
            a[k] = check(bound[k], f"plateau's `{k}`")


def _items(x, w):
    if not isinstance(x, S.ListV):
        raise SpecError(f"{w} must be a list, got `{show(x)}`", x.pos)
    return x.items


def resolve_metrics(v) -> tuple[Spec, ...]:
    """`metrics = [accuracy, top_k(5)]` (or one metric): the specs, arguments checked and filled."""
    items = v.items if isinstance(v, S.ListV) else (v,)
    out = []
    for item in items:
        spec, bound = _named_call(item, METRICS, "metric")
        if spec.name == "top_k":
            spec.args["k"] = as_int(bound["k"], "top_k's `k`", lo=1)
        if "per_class" in bound and is_value(bound["per_class"]):
            spec.args["per_class"] = as_bool(bound["per_class"], f"{spec.name}'s `per_class`")
        out.append(spec)
    return tuple(out)


def resolve_output_metrics(v, model: Model | None) -> tuple[tuple[str, tuple[Spec, ...]], ...]:
    """`metrics = {digit: [accuracy], recon: mse}`: metrics per output name, in the map's order."""
    names = [o.name for o in model.outputs] if model is not None else None
    for key, value in v.items:  # the parser refuses a key given twice
        _check_output_name(key, getattr(value, "pos", v.pos), names)
    return tuple((key, resolve_metrics(value)) for key, value in v.items)


def _check_output_name(key: str, pos, names: list[str] | None) -> None:
    """A map key of `loss` or `metrics` must name an output of the model (None: the model is not known)."""
    if names is not None and key not in names:
        raise SpecError(f"the model has no output `{key}`", pos,
                        did_you_mean(key, names) or f"outputs: {', '.join(names)}")


def resolve_early_stop(v) -> EarlyStop:
    name, args, kwargs, pos = call_parts(v, "`early_stop`")
    if name != "patience":
        raise SpecError(f"unknown early stopping rule `{name}`", pos, "write `patience(5, monitor=val_loss)`")
    b = bind(name, args, kwargs, {"k": REQUIRED, "monitor": "val_loss", "min_delta": 0.0}, "early stopping", pos)
    monitor = b["monitor"] if isinstance(b["monitor"], str) else as_name(b["monitor"], "monitor")
    monitor = "train_loss" if monitor == "loss" else monitor  # Keras' name for the training loss
    min_delta = b["min_delta"] if isinstance(b["min_delta"], float) else as_float(b["min_delta"], "`min_delta`", lo=0.0)
    return EarlyStop(as_int(b["k"], "patience", lo=1), monitor, min_delta, pos)


def _layer_names(v, what: str) -> list:
    """`[conv2d_1, features, "res_1.main"]` (or one name): (name, pos) pairs."""
    items = v.items if isinstance(v, S.ListV) else (v,)
    if not items:
        raise SpecError(f"{what} must name at least one layer", v.pos)
    return [(as_name(i, f"a layer name in {what}"), i.pos) for i in items]


def resolve_init_from(v, spec_dir: str) -> tuple[InitFrom, list]:
    """`run("runs/base")` or `npz("base.npz")`, with optional `layers=[...]`; the path against the spec's directory."""
    name, args, kwargs, pos = call_parts(v, "`init_from`")
    if name not in ("run", "npz"):
        raise SpecError(f"`init_from` takes run(\"DIR\") or npz(\"FILE\"), not `{name}`", pos,
                        'e.g. `init_from = run("runs/base", layers=[conv2d_1, conv2d_2])`')
    b = bind(name, args, kwargs, {"path": REQUIRED, "layers": None}, "init_from source", pos)
    p = os.path.expanduser(as_str(b["path"], f"{name}'s path"))
    path = p if os.path.isabs(p) else os.path.normpath(os.path.join(spec_dir or os.getcwd(), p))
    named = _layer_names(b["layers"], "`layers`") if is_value(b["layers"]) else None
    return InitFrom(name, path, tuple(n for n, _ in named) if named else None, pos), named or []


def _expand_layer_names(named: list, model: Model | None, what: str, errors: Collector, trainable: bool) -> list:
    """Each name is a layer or block use of the model with parameters: the names of those layers, in model order."""
    if model is None:
        return [n for n, _ in named]
    from ..transfer import layers_named

    known = [layer.name for layer in model.layers]
    uses = {".".join(layer.scope[:d]) for layer in model.layers for d in range(1, len(layer.scope) + 1)}
    chosen = set()
    for name, pos in named:
        layers = [layer for layer in layers_named(model.layers, name)
                  if any(p.trainable or not trainable for p in layer.params)]
        if not layers_named(model.layers, name):
            errors.add(f"{what} names `{name}`, which is not a layer or block use of the model", pos,
                       did_you_mean(name, known + sorted(uses)) or "see `specc summary` for the layer names")
        elif not layers:
            errors.add(f"{what} names `{name}`, which has no {'trainable ' if trainable else ''}parameters", pos)
        chosen.update(layer.name for layer in layers)
    return [name for name in known if name in chosen]


def resolve_train(section: S.Section | None, model: Model | None, data: DataSpec | None,
                  errors: Collector, spec_dir: str | None = None) -> TrainSpec | None:
    if section is None:
        return None
    a = _assigns(section, TRAIN_KEYS, errors)

    def get(key, fn, *args):
        return _checked(errors, fn, a[key].value, *args) if key in a else None

    losses = _checked(errors, resolve_losses, a["loss"].value, model) if "loss" in a else None
    if "loss" not in a:
        errors.add("`train` needs `loss = ...`", section.pos, f"one of: {', '.join(LOSSES)}")
    optimizer = get("optimizer", resolve_optimizer)
    if "optimizer" not in a:
        errors.add("`train` needs `optimizer = ...`", section.pos, "e.g. `optimizer = sgd(lr=0.1)`")
    schedule = get("schedule", resolve_schedule) or Spec("constant", {"per": "step"})
    batch = get("batch", as_int, "`batch`", 1)
    accumulate = get("accumulate", as_int, "`accumulate`", 1)
    epochs = get("epochs", as_int, "`epochs`", 1)
    steps = get("steps", as_int, "`steps`", 1)
    if "epochs" in a and "steps" in a:
        errors.add("set either `epochs` or `steps`, not both", a["steps"].pos)
    if epochs is None and steps is None:
        epochs = 10
    l2 = get("l2", as_float, "`l2`", 0.0)
    wd = get("weight_decay", as_float, "`weight_decay`", 0.0, 1.0, False, True)
    clip = get("clip_norm", as_float, "`clip_norm`", 0.0, None, True)
    early = get("early_stop", resolve_early_stop)
    metrics, output_metrics = (), ()
    if "metrics" in a and isinstance(a["metrics"].value, S.MapV):
        output_metrics = get("metrics", resolve_output_metrics, model) or ()
    else:
        metrics = get("metrics", resolve_metrics) or ()
    seed = get("seed", as_int, "`seed`", 0, 2**32 - 1)  # the seeded streams take 32-bit seeds
    dtype = get("dtype", as_name, "dtype", DTYPES) or "float32"
    init_from, freeze = get("init_from", resolve_init_from, spec_dir), get("freeze", _layer_names, "`freeze`")
    if init_from and init_from[0].layers:  # block uses become their layers' names
        layers = _expand_layer_names(init_from[1], model, "init_from's `layers`", errors, trainable=False)
        init_from = (replace(init_from[0], layers=tuple(layers)), init_from[1])
    if freeze:
        freeze = _expand_layer_names(freeze, model, "`freeze`", errors, trainable=True)
    if losses is None or optimizer is None:
        return None
    train = TrainSpec(losses=losses, optimizer=optimizer, schedule=schedule, batch=batch or 32, epochs=epochs,
                      steps=steps, l2=l2 or 0.0, weight_decay=wd or 0.0, clip_norm=clip, early_stop=early,
                      metrics=metrics, output_metrics=output_metrics, seed=seed or 0, pos=section.pos, dtype=dtype,
                      accumulate=accumulate or 1,
                      init_from=init_from[0] if init_from else None,
                      freeze=tuple(freeze or ()))
    _check_compat(train, model, data, a, errors)
    return train


# ---- combinations ------------------------------------------------------------

_LOSS_HINT: dict[str, str] = {}  # softmax -> cross_entropy, ...: the first loss for each last op
for _name, (_args, _last) in LOSSES.items():
    if _last:
        _LOSS_HINT.setdefault(_last, _name)


def _check_loss(loss: Spec, model: Model, out, errors: Collector) -> None:
    """A loss against the op that produces its output (fused losses need their activation)."""
    producer = model.producer(out.value)
    last = producer.op if producer else None
    shape = model.value_shape(out.value)
    need = LOSSES[loss.name][1]
    if need and last != need:
        hint = (f"end the model with `{need}`" + (f", or use `{_LOSS_HINT[last]}` for a model ending in `{last}`"
                                                 if last in _LOSS_HINT else ""))
        errors.add(f"loss `{loss.name}` needs the model to end in `{need}`, but it ends in `{last}`", loss.pos, hint)
    elif need and len(shape) == 1:
        _check_per_unit(loss, "weights" if loss.name == "cross_entropy" else "pos_weight", shape[0], errors)
    if not need and last in ("softmax", "log_softmax"):
        errors.add(f"loss `{loss.name}` on a model ending in `{last}`", loss.pos,
                   f"use `{_LOSS_HINT[last]}` (computed fused from the logits, for stability)")
    if last in ("softmax", "log_softmax") and tuple(shape) == (1,):
        errors.add(f"`{last}` over a single unit is always {'1' if last == 'softmax' else '0'}",
                   producer.pos, "for two classes use `dense(1); sigmoid` with `bce`, "
                                 "or `dense(2); softmax` with `cross_entropy`")


def _check_per_unit(loss: Spec, key: str, units: int, errors: Collector) -> None:
    """A per-class `weights` / per-unit `pos_weight` list has one entry per output unit."""
    values = loss.args.get(key)
    if isinstance(values, list) and len(values) != units:
        errors.add(f"{loss.name}'s `{key}` lists {len(values)} values, but the model has {units} output "
                   f"unit{'s' if units != 1 else ''}", loss.pos, "give one value per output unit")


def _check_compat(train: TrainSpec, model: Model | None, data: DataSpec | None, a: dict, errors: Collector):
    """Loss vs the model's last layer, early stopping vs the data splits."""
    if model is not None and model.layers:
        for out, ol in zip(model.outputs, train.losses):
            _check_loss(ol.loss, model, out, errors)
        for index, _, m in metric_uses(train) if model.outputs else ():
            shape = model.value_shape(model.outputs[index].value)
            which = "the model" if len(model.outputs) == 1 else f"`{model.outputs[index].name}`"
            if m.name == "top_k" and len(shape) != 1:
                errors.add(f"top_k needs a vector of class scores; the output of {which} is "
                           f"[{', '.join(map(str, shape))}]", m.pos)
            elif m.name == "top_k" and m.args["k"] > shape[0]:
                errors.add(f"top_k({m.args['k']}) needs at least {m.args['k']} outputs; {which} has {shape[0]}", m.pos)

        if train.optimizer.name in ("perceptron", "adaline"):
            dense = [l for l in model.layers if l.op not in ("step", "identity", "sigmoid", "tanh")]
            if len(dense) != 1 or dense[0].op != "dense":
                errors.add(f"the {train.optimizer.name} rule trains a single-layer network (one dense layer "
                           "and its activation)", train.optimizer.pos)
    allowed = {"train_loss", "val_loss"} | {f"val_{c}" for c in metric_columns(train)}
    watchers = [("early stopping", train.early_stop.monitor, train.early_stop.pos)] if train.early_stop else []
    if train.schedule.name == "plateau":
        watchers.append(("the plateau schedule", train.schedule.args["monitor"], train.schedule.pos))
    for who, monitor, pos in watchers:
        if monitor not in allowed:
            errors.add(f"{who} monitors `{monitor}`, which is not recorded", pos,
                       did_you_mean(monitor, allowed) or f"one of: {', '.join(sorted(allowed))}")
        elif monitor.startswith("val_") and data is not None and not _has_val(data):
            errors.add(f"{who} monitors `{monitor}` but the data has no validation split", pos,
                       "add `val = 0.1` (or a val fraction in `split`) to `data`")


def check_classes(model: Model | None, data: DataSpec | None, errors: Collector) -> None:
    """`classes` must match the outputs: one per softmax unit, two for a single sigmoid unit."""
    if model is None or data is None or not data.classes or not model.output_shape:
        return
    n_out, last, n = model.output_shape[0], model.output_op, len(data.classes)
    expected = {"softmax": n_out, "log_softmax": n_out, "sigmoid": 2 if n_out == 1 else n_out}.get(last)
    if expected is not None and n != expected:
        hint = f"end the model with `dense({n}); {last}`" if last != "sigmoid" or n != 2 else "use `dense(1); sigmoid`"
        errors.add(f"`classes` names {n} classes but the model's {n_out} `{last}` output"
                   f"{'s' if n_out != 1 else ''} stand for {expected}", data.pos, hint)


def _has_val(data: DataSpec) -> bool:
    if data.source is not None:
        return bool(data.split and data.split[1] > 0)
    return isinstance(data.val, Source) or bool(data.val)
