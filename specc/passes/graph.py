"""Pass driver: a model body -> its graph, one top-level statement at a time, resumable at any
statement boundary.

    layers, outputs, state = build_model(inputs, input_decls, body, blocks, errors)
    ... the user edits statement 700 of 1,000 ...
    layers, outputs, state = build_model(inputs, input_decls, new_body, blocks, errors, memo, state)

The passes (expand block uses, check arguments and user names; give default names; wire the
chain and run the shape rules) each carry a state from one statement to the next: the value
flowing out and its shape, the names defined so far, the use and default-name counters, the
errors. None of it depends on later statements, with three exceptions handled here:

  - a default name `<op>_<n>` skips every name the user gave anywhere in the model: the state is
    kept only when the names the user gave are the same, or differ in none that looks like one;
  - a name used before its definition is told from an unknown name by every name the model
    defines: a state with such an error is kept only when the verdict is unchanged;
  - `init=auto` reads the layers that consume a layer's output, which may come later: each
    layer's parameters are made again only when that choice changed.

Everything the chain builds only grows (lists, and dicts in insertion order), so the state after
statement k is the first marks[k] entries of each container. The next check of the same document
finds the first statement that is not the same object as last time (the language server's
incremental parser hands back the same objects for unchanged text), copies the state at that
boundary and runs only the statements from there. A state in which a name was defined twice (an
error anyway) did not only grow, and is not kept. The errors of each pass are kept apart and
joined at the end in pass order, so the messages come in the same order as a full check's.
"""
from __future__ import annotations

import re
from itertools import islice
from operator import attrgetter

from ..errors import Collector
from ..ir import Input, Output, Pos
from .blocks import Expander
from .layers import (GraphBuilder, Values, _walk, check_user_names, consumers_of, default_names, init_choices,
                     is_later, resolve_all, with_params)
from .memo import StatementMemo

# A name a default could take (`dense_3`): when the user gives or removes one, default names move.
_DEFAULT_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*_[0-9]+\Z")

# Containers that only grow while statements run, by the pass that fills them; their lengths
# after each statement are marked.
PHASES = {
    "expand": ("raw", "expand_counts", "expand_errors", "resolve_errors", "name_errors", "memo", "taken"),
    "names": ("default_counts", "names"),
    "build": ("ends", "layers", "outputs", "build_errors", "failed", "shapes", "dtypes", "order", "defined_at",
              "used", "aliases", "build_memo"),
}
_DICTS = {"taken", "shapes", "dtypes", "order", "defined_at", "used", "aliases"}
_GET = {phase: attrgetter(*fields) for phase, fields in PHASES.items()}


class State:
    """What the passes built, statement by statement, with a mark after each (see the module doc).

    raw[k]: statement k's resolved items; expand_counts/default_counts[k]: the counters after it
    (index 0: before the first); ends[k]: the value flowing out of it; memo, build_memo: the
    entries of the statement memo its passes used, so a kept prefix keeps its memo entries too.
    """

    def __init__(self):
        for fields in PHASES.values():
            for f in fields:
                setattr(self, f, {} if f in _DICTS else [])
        self.marks: dict[str, list[tuple]] = {phase: [] for phase in PHASES}
        self.key: tuple = ()  # (input statements, blocks): when either changes, nothing is kept
        self.body: tuple = ()  # the statements run, kept alive so their ids stay theirs
        self.kept_alive: tuple = ()
        self.final: list = []  # the layers with parameters, the init choices they were made with,
        self.choices: list = []  # and the memo entries each used
        self.param_entries: list = []
        self.reusable = True

    def mark(self, phase: str) -> None:
        """The end of a statement (or the start, before the first) in this pass."""
        self.marks[phase].append(tuple(map(len, _GET[phase](self))))

    def cut(self, n: int) -> "State":
        """A new state holding what this one held after n statements."""
        new = State()
        for phase, fields in PHASES.items():
            for f, length in zip(fields, self.marks[phase][n]):
                old = getattr(self, f)
                setattr(new, f, dict(islice(old.items(), length)) if f in _DICTS else old[:length])
            new.marks[phase] = self.marks[phase][:n + 1]
        return new


def build_model(inputs: list[Input] | None, input_decls: tuple, body: tuple, blocks: dict, errors: Collector,
                memo: StatementMemo | None = None, last: State | None = None):
    """The model's layers (in order) and outputs, and the state for the next check.

    `inputs` None (they have errors): the statements are checked, no graph is built. `last`: the
    state the previous check of this document returned (its statements are compared by identity).
    """
    key = (tuple(map(id, input_decls)), tuple(map(id, blocks.values())))
    start = _first_change(last, key, body) if inputs is not None else 0
    result = _run(inputs, body, blocks, errors.source, memo, last if start else None, start)
    if result is None:  # the kept prefix turned out stale (see the module doc): run it all
        result = _run(inputs, body, blocks, errors.source, memo, None, 0)
    state = result
    state.key, state.body, state.kept_alive = key, body, (input_decls, tuple(blocks.values()))
    for f in ("expand_errors", "resolve_errors", "name_errors", "build_errors"):
        errors.extend(getattr(state, f))
    if inputs is None:
        return (), (), None
    return _finish(inputs, state, last if start else None, errors, memo)


def _first_change(last: State | None, key: tuple, body: tuple) -> int:
    """How many statements from the start the last check ran on the very same objects."""
    if last is None or not last.reusable or last.key != key:
        return 0
    n = 0
    for new, old in zip(body, last.body):
        if new is not old:
            break
        n += 1
    return n


def _run(inputs, body, blocks, source, memo, last: State | None, start: int) -> State | None:
    """Run the passes over statements start.. on the state `last` held after `start` statements."""
    state = last.cut(start) if last is not None else State()
    if memo is not None and last is not None:
        memo.carry(state.memo)
        memo.carry(state.build_memo)
    collect = {f: _collector(source, getattr(state, f))
               for f in ("expand_errors", "resolve_errors", "name_errors", "build_errors")}

    # Expand block uses, check arguments, check the user's names.
    expander = Expander(blocks, collect["expand_errors"], memo)
    if last is None:
        state.taken.update((i.name, i.pos) for i in inputs or ())
        state.expand_counts.append(())
        state.mark("expand")
    expander.counters = dict(state.expand_counts[-1])
    for stmt in body[start:]:
        used_before = memo.used() if memo is not None else 0
        raw = resolve_all(expander.expand((stmt,)), collect["resolve_errors"], memo)
        check_user_names(raw, collect["name_errors"], state.taken)
        state.raw.append(raw)
        state.expand_counts.append(tuple(expander.counters.items()))
        if memo is not None:
            state.memo.extend(memo.entries_since(used_before))
        state.mark("expand")
    if last is not None and _defaults_may_move(set(last.taken), set(state.taken)):
        return None

    # Default names.
    if last is None:
        state.default_counts.append(())
        state.mark("names")
    counters = dict(state.default_counts[-1])
    for raw in state.raw[start:]:
        default_names(raw, state.taken, counters)
        state.names.extend(layer.name for layer in _walk(raw))
        state.default_counts.append(tuple(counters.items()))
        state.mark("names")
    if inputs is None:
        return state

    # Wire the chain: shapes.
    later = set(state.names)
    if last is not None and any(is_later(later, name, scope) != verdict for name, scope, verdict in state.failed):
        return None
    values = Values(state.shapes, state.dtypes, state.order, state.defined_at, state.used)
    g = GraphBuilder(inputs if last is None else [], collect["build_errors"], values, state.layers, state.outputs,
                     state.aliases, state.failed, memo)
    g.later = later
    if last is None:
        state.ends.append(inputs[0].name)
        state.mark("build")
    current = state.ends[-1]
    for raw in state.raw[start:]:
        used_before = memo.used() if memo is not None else 0
        current = g.run(raw, current)
        state.ends.append(current)
        if memo is not None:
            state.build_memo.extend(memo.entries_since(used_before))
        state.mark("build")
    state.reusable = not g.redefined and not state.name_errors  # both: a name defined twice
    return state


def _collector(source, errors: list) -> Collector:
    c = Collector(source)
    c.errors = errors
    return c


def _defaults_may_move(old: set, new: set) -> bool:
    """Whether a change in the names the user gave can move a default name (see the module doc)."""
    return any(_DEFAULT_LIKE.match(name) for name in old ^ new)


def _finish(inputs, state: State, last: State | None, errors: Collector, memo: StatementMemo | None):
    """Parameters (each layer's made again only when new or its init=auto choice changed), the
    default output, and the warnings about values never used."""
    consumers = consumers_of(state.layers)
    final, choices, entries, carried = [], [], [], []
    for i, layer in enumerate(state.layers):
        choice = init_choices(layer, consumers)
        if last is not None and i < len(last.layers) and last.layers[i] is layer and last.choices[i] == choice:
            final.append(last.final[i])
            entries.append(last.param_entries[i])
            carried += last.param_entries[i]
        else:
            used_before = memo.used() if memo is not None else 0
            final.append(with_params(layer, choice, memo))
            entries.append(memo.entries_since(used_before) if memo is not None else ())
        choices.append(choice)
    if memo is not None:
        memo.carry(carried)
    state.final, state.choices, state.param_entries = final, choices, entries

    g = GraphBuilder([], errors, Values(state.shapes, state.dtypes, state.order, state.defined_at, state.used),
                     state.layers, state.outputs, state.aliases)
    outputs = list(state.outputs)
    end = state.ends[-1]
    if not outputs and end is not None:
        default = "prediction" if any(i.name == "output" for i in inputs) else "output"
        outputs = [Output(default, end, final[-1].pos if final else Pos())]
        g.values.used[end] = None
    if not errors.errors:
        for name, pos in g.unused():
            what = "input" if any(i.name == name for i in inputs) else "value"
            errors.warn(f"{what} `{name}` is computed but never used", pos,
                        "use it with `from`, a merge or `output`, or remove it")
    return tuple(final), tuple(outputs), state
