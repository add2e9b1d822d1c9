"""Pass driver: a model body -> its graph, one top-level statement at a time; the next check of
an edited body re-runs only the statements the edit can change.

    layers, outputs, state = build_model(inputs, input_decls, body, blocks, errors)
    ... the user edits statement 700 of 1,000 ...
    layers, outputs, state = build_model(inputs, input_decls, new_body, blocks, errors, memo, state)

Three passes each carry a state from one statement to the next: (A) expand block uses, check
arguments and the names the user gave; (B) give default names `<op>_<n>`; (C) wire the chain
and run the shape rules. What flows out of statements 1..k (the current value and its shape,
the names defined, the counters, the errors) does not depend on statement k+1 onwards, except:

  - a default name skips every name the user gave anywhere in the model: the state is kept only
    when those names are the same, or differ in none that a default could take (`dense_3`);
  - a name used before its definition is told from an unknown name by every name the model
    defines: a kept state with such an error must give the same verdict;
  - `init=auto` reads the layers that consume a layer's output, which may come later: each
    layer's parameters are made again when that choice changed.

Everything a pass builds only grows (lists, and dicts in insertion order, no key set twice), so
the state after statement k is the first entries of each container; `sizes` records how many
each statement added. The next check finds the statements that are the very same objects as
last time (the language server's incremental parser hands back the same objects for unchanged
text) at the start and at the end of the body. It copies the state at the first changed
statement, runs the passes from there, and after the changed statements, at each boundary,
compares what the rest of the chain reads with what it read last time: when the same (each pass
its own test, in `_converged_*`), the rest is taken from the last check (its layers, names,
errors) instead of run again. A state in which a name was defined twice (an error anyway) did
not only grow, and is not kept. Each pass's errors are kept apart and joined in pass order, so
the messages come in a full check's order; tests/lsp/test_incremental_check.py holds the result
equal to a full check over random edit sequences.
"""
from __future__ import annotations

import re
from itertools import islice
from operator import attrgetter

from .. import syntax as S
from ..errors import Collector
from ..ir import Input, Output, Pos
from .blocks import Alias, Expander
from .layers import (GraphBuilder, RawLayer, Values, _walk, check_user_names, consumers_of, default_names,
                     init_choices, is_later, resolve_all, with_params)
from .memo import StatementMemo

# A name a default could take (`dense_3`): when the user gives or removes one, default names move.
_DEFAULT_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*_[0-9]+\Z")

# What each pass builds. Per-statement lists (raw, *_counts, ends) get one entry per statement
# (and one before the first); the others get what the statement adds.
PHASES = {
    "expand": ("raw", "expand_counts", "expand_errors", "resolve_errors", "name_errors", "memo", "taken"),
    "names": ("default_counts", "names"),
    "build": ("ends", "layers", "outputs", "build_errors", "failed", "shapes", "dtypes", "defined_at", "uses",
              "aliases", "build_memo"),
}
_DICTS = {"taken", "shapes", "dtypes", "defined_at", "aliases"}
_GET = {phase: attrgetter(*fields) for phase, fields in PHASES.items()}


class State:
    """What the passes built, statement by statement (see the module doc).

    raw[k]: statement k's resolved items (index 0: before the first statement, empty);
    expand_counts/default_counts[k], ends[k]: the counters and the current value after it;
    memo, build_memo: the statement memo's entries the passes used, so that what is taken
    from this state keeps its memo entries too. sizes[phase][k]: how much statement k added to
    each container of the pass (k = 0: before the first statement).
    """

    def __init__(self):
        for fields in PHASES.values():
            for f in fields:
                setattr(self, f, {} if f in _DICTS else [])
        self.sizes: dict[str, list[tuple]] = {phase: [] for phase in PHASES}
        self.key: tuple = ()  # (input statements, blocks): when either changes, nothing is kept
        self.body: tuple = ()  # the statements run, kept alive so their ids stay theirs
        self.kept_alive: tuple = ()
        self.final: dict = {}  # id(layer) -> (the layer with parameters, its init choices, memo entries)
        self.reusable = True

    def lengths(self, phase: str, n: int) -> list[int]:
        """Each container's length after n statements."""
        return [sum(column) for column in zip(*self.sizes[phase][:n + 1])]

    def mark(self, phase: str, before: list[int]) -> list[int]:
        """Record what the statement just run added (containers' lengths were `before`)."""
        after = list(map(len, _GET[phase](self)))
        self.sizes[phase].append(tuple(a - b for a, b in zip(after, before)))
        return after

    def cut(self, n: int) -> "State":
        """A new state holding what this one held after n statements."""
        new = State()
        for phase, fields in PHASES.items():
            for f, length in zip(fields, self.lengths(phase, n)):
                old = getattr(self, f)
                setattr(new, f, dict(islice(old.items(), length)) if f in _DICTS else old[:length])
            new.sizes[phase] = self.sizes[phase][:n + 1]
        return new

    def splice(self, phase: str, old: "State", k_old: int) -> None:
        """Append what `old` built from its statement k_old on (the rest of the chain is the same)."""
        for f, length in zip(PHASES[phase], old.lengths(phase, k_old)):
            mine, theirs = getattr(self, f), getattr(old, f)
            if f in _DICTS:
                mine.update(islice(theirs.items(), length, None))
            else:
                mine += theirs[length:]
        self.sizes[phase] += old.sizes[phase][k_old + 1:]


def build_model(inputs: list[Input] | None, input_decls: tuple, body: tuple, blocks: dict, errors: Collector,
                memo: StatementMemo | None = None, last: State | None = None):
    """The model's layers (in order) and outputs, and the state for the next check.

    `inputs` None (they have errors): the statements are checked, no graph is built. `last`: the
    state the previous check of this document returned (its statements are compared by identity).
    """
    key = (tuple(map(id, input_decls)), tuple(map(id, blocks.values())))
    if inputs is None or last is None or not last.reusable or last.key != key:
        last = None
    state = _run(inputs, body, blocks, errors.source, memo, last) if last is not None else None
    if state is None:  # nothing to keep, or what was kept turned out stale (see the module doc)
        last = None
        state = _run(inputs, body, blocks, errors.source, memo, None)
    state.key, state.body, state.kept_alive = key, body, (input_decls, tuple(blocks.values()))
    for f in ("expand_errors", "resolve_errors", "name_errors", "build_errors"):
        errors.extend(getattr(state, f))
    if inputs is None:
        return (), (), None
    return _finish(inputs, state, last, errors, memo)


class _Edit:
    """Where `body` differs from the last check's: statements [start, stop) are new; the ones from
    `stop` on are the last check's from `stop + shift` on."""

    def __init__(self, last: State, body: tuple):
        old = last.body
        n = min(len(body), len(old))
        self.start = next((i for i in range(n) if body[i] is not old[i]), n)
        same = 0
        while same < n - self.start and body[-1 - same] is old[-1 - same]:
            same += 1
        self.stop = len(body) - same
        self.shift = len(old) - len(body)

    def boundaries(self, body: tuple, first: int):
        """The boundaries (statements run so far) at which the rest may be taken from the last check."""
        return range(max(self.stop, first), len(body))


def _run(inputs, body, blocks, source, memo, last: State | None) -> State | None:
    """Run the passes (module doc); None when what `last` held turned out stale."""
    edit = _Edit(last, body) if last is not None else None
    start = edit.start if edit is not None else 0
    state = last.cut(start) if last is not None else State()
    if memo is not None and last is not None:
        memo.carry(state.memo)
        memo.carry(state.build_memo)
    collect = {f: _collector(source, getattr(state, f))
               for f in ("expand_errors", "resolve_errors", "name_errors", "build_errors")}

    # (A) expand block uses, check arguments and the user's names
    expander = Expander(blocks, collect["expand_errors"], memo)
    lengths = list(map(len, _GET["expand"](state)))
    if last is None:
        state.raw.append([])
        state.taken.update((i.name, i.pos) for i in inputs or ())
        state.expand_counts.append(())
        lengths = state.mark("expand", lengths)
    expander.counters = dict(state.expand_counts[-1])
    converge = set(edit.boundaries(body, start)) if edit is not None else ()
    taken_at_start = len(state.taken)
    done_a = len(body)
    for i in range(start, len(body)):
        if i in converge and _converged_expand(state, last, i + edit.shift, taken_at_start):
            kept = len(state.memo)
            state.splice("expand", last, i + edit.shift)
            if memo is not None:
                memo.carry(state.memo[kept:])
            done_a = i
            break
        used_before = memo.used() if memo is not None else 0
        raw = resolve_all(expander.expand((body[i],)), collect["resolve_errors"], memo)
        check_user_names(raw, collect["name_errors"], state.taken)
        state.raw.append(raw)
        state.expand_counts.append(tuple(expander.counters.items()))
        if memo is not None:
            state.memo.extend(memo.entries_since(used_before))
        lengths = state.mark("expand", lengths)
    if last is not None and _defaults_may_move(set(last.taken), set(state.taken)):
        return None

    # (B) default names
    lengths = list(map(len, _GET["names"](state)))
    if last is None:
        state.default_counts.append(())
        lengths = state.mark("names", lengths)
    counters = dict(state.default_counts[-1])
    done_b = len(body)
    for i in range(start, len(body)):
        if i >= done_a and i in converge and counters == dict(last.default_counts[i + edit.shift]):
            state.splice("names", last, i + edit.shift)
            done_b = i
            break
        raw = state.raw[i + 1]
        default_names(raw, state.taken, counters)
        state.names.extend(layer.name for layer in _walk(raw) if not layer.broken)
        state.default_counts.append(tuple(counters.items()))
        lengths = state.mark("names", lengths)
    if inputs is None:
        return state

    # (C) wire the chain: shapes
    later = set(state.names)
    if last is not None and any(is_later(later, name, scope) != verdict for name, scope, verdict in state.failed):
        return None
    lengths = list(map(len, _GET["build"](state)))
    values = Values(state.shapes, state.dtypes, state.defined_at, state.uses)
    g = GraphBuilder(inputs if last is None else [], collect["build_errors"], values, state.layers, state.outputs,
                     state.aliases, state.failed, memo)
    g.later = later
    if last is None:
        state.ends.append(inputs[0].name)
        lengths = state.mark("build", lengths)
    since = lengths  # what the statements from `start` add is compared with what they added last time
    current = state.ends[-1]
    for i in range(start, len(body)):
        if i >= done_b and i in converge and _converged_build(state, last, i + edit.shift, since, current):
            kept = len(state.build_memo)
            state.splice("build", last, i + edit.shift)
            if memo is not None:
                memo.carry(state.build_memo[kept:])
            break
        used_before = memo.used() if memo is not None else 0
        current = g.run(state.raw[i + 1], current)
        state.ends.append(current)
        if memo is not None:
            state.build_memo.extend(memo.entries_since(used_before))
        lengths = state.mark("build", lengths)
    state.reusable = not g.redefined and not state.name_errors  # both: a name defined twice
    return state


def _collector(source, errors: list) -> Collector:
    c = Collector(source)
    c.errors = errors
    return c


def _defaults_may_move(old: set, new: set) -> bool:
    """Whether a change in the names the user gave can move a default name (see the module doc)."""
    return any(_DEFAULT_LIKE.match(name) for name in old ^ new)


def _converged_expand(state: State, last: State, k_old: int, taken_at_start: int) -> bool:
    """Pass A after the changed statements reads only the block-use counters and the names the
    user gave so far: the same as last time at this boundary?"""
    if state.expand_counts[-1] != last.expand_counts[k_old]:
        return False
    taken_then = last.lengths("expand", k_old)[PHASES["expand"].index("taken")]
    mine = list(islice(state.taken.items(), taken_at_start, None))
    return mine == list(islice(last.taken.items(), taken_at_start, taken_then))


def _converged_build(state: State, last: State, k_old: int, since: list, current) -> bool:
    """Pass C from here reads the current value, the values it looks up by name, and the outputs
    declared so far. The same as last time at this boundary, when: the current value is the same
    name with the same shape; the values the changed statements defined, where they differ from
    last time's, are named nowhere in the rest; the outputs are the same; and no name in the rest
    failed to resolve (its message lists every name known)."""
    if current != last.ends[k_old]:
        return False
    if current is not None and (state.shapes.get(current, _MISSING) != last.shapes.get(current, _MISSING)
                                or state.dtypes.get(current) != last.dtypes.get(current)):
        return False
    start = dict(zip(PHASES["build"], since))  # the changed statements' additions begin here, in both
    then = dict(zip(PHASES["build"], last.lengths("build", k_old)))
    if len(last.failed) != then["failed"]:
        return False

    def added(s: State, f: str, end: int | None) -> list:
        container = getattr(s, f)
        items = container.items() if f in _DICTS else container
        return list(islice(items, start[f], end))

    if [o.name for o in added(state, "outputs", None)] != [o.name for o in added(last, "outputs", then["outputs"])]:
        return False
    differ = set()
    for f in ("shapes", "dtypes", "aliases"):
        differ |= set(added(state, f, None)) ^ set(added(last, f, then[f]))
    if not differ:
        return True
    return not {name.rsplit(".", 1)[-1] for name, _ in differ} & _referenced(last.raw[k_old + 1:])


def _referenced(raws) -> set[str]:
    """Every name the statements look up or define as a block use's name (last part only)."""
    out: set[str] = set()
    stack = [item for raw in raws for item in raw]
    while stack:
        item = stack.pop()
        if isinstance(item, RawLayer):
            out.update(r.id for r in item.refs)
            stack += item.body or ()
        elif isinstance(item[0], (S.FromStmt, Alias)):
            out.add(item[0].name)
    return out


_MISSING = object()


def _finish(inputs, state: State, last: State | None, errors: Collector, memo: StatementMemo | None):
    """Parameters (a layer's made again only when new or its init=auto choice changed), the default
    output, and the warnings about values never used."""
    consumers = consumers_of(state.layers)
    final, made, carried = [], {}, []
    previous = last.final if last is not None else {}
    for layer in state.layers:
        choice = init_choices(layer, consumers)
        hit = previous.get(id(layer))
        if hit is not None and hit[0] is layer and hit[2] == choice:
            entries = hit[3]
            carried += entries
        else:
            used_before = memo.used() if memo is not None else 0
            hit = (layer, with_params(layer, choice, memo), choice, None)
            entries = memo.entries_since(used_before) if memo is not None else ()
            hit = hit[:3] + (entries,)
        made[id(layer)] = hit
        final.append(hit[1])
    if memo is not None:
        memo.carry(carried)
    state.final = made

    outputs = list(state.outputs)
    end = state.ends[-1]
    uses = state.uses
    if not outputs and end is not None:
        default = "prediction" if any(i.name == "output" for i in inputs) else "output"
        outputs = [Output(default, end, final[-1].pos if final else Pos())]
        uses = uses + [end]
    if not errors.errors:
        g = GraphBuilder([], errors, Values(state.shapes, state.dtypes, state.defined_at, uses), outputs=state.outputs)
        for name, pos in g.unused():
            what = "input" if any(i.name == name for i in inputs) else "value"
            errors.warn(f"{what} `{name}` is computed but never used", pos,
                        "use it with `from`, a merge or `output`, or remove it")
    return tuple(final), tuple(outputs), state
