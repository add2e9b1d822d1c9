"""Pass: expand `block` uses into their statements, substituting parameters.

`block conv_pool(n, k=5) { conv2d(n, k); relu; maxpool(2) }` used as
`conv_pool(20)` becomes `conv2d(20, 5); relu; maxpool(2)`. A block that uses
itself (directly or through others) is an error naming the cycle.

Each use has a name (`name="..."` at the use, default `<block>_<n>`). Names given
inside a block are local to each use: the layer `name="main"` of use `res_2` is
stored as `res_2.main`, so a block with named layers can be used many times.
Every expanded statement is returned with its scope: the tuple of use names it
sits in (empty at the top level). The end of each use is marked by an `Alias`,
so the use's name also names the block's last value (`from res_2`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from .. import syntax as S
from ..errors import Collector, SpecError, did_you_mean
from ..ir import Pos
from ..ops import OPS, REQUIRED
from ..values import as_str, bind
from .memo import StatementMemo

MAX_DEPTH = 64  # blocks nested deeper than this are surely a mistake


@dataclass(frozen=True)
class Alias:
    """Internal statement: the current value is also called `name` (a block use's name)."""

    name: str
    pos: Pos


def collect_blocks(spec: S.SpecFile, errors: Collector) -> dict[str, S.BlockDecl]:
    blocks: dict[str, S.BlockDecl] = {}
    for b in spec.blocks:
        if b.name in OPS:
            errors.add(f"block `{b.name}` has the name of a built-in layer", b.pos, "rename the block")
        elif b.name in blocks:
            errors.add(f"block `{b.name}` is defined twice (first at line {blocks[b.name].pos.line})", b.pos)
        else:
            seen = set()
            for p in b.params:
                if p.name in seen:
                    errors.add(f"block parameter `{p.name}` appears twice", p.pos)
                seen.add(p.name)
            blocks[b.name] = b
    return blocks


def _substitute(value, env: dict):
    """Replace names bound to block parameters inside a value."""
    if isinstance(value, S.NameV) and value.id in env:
        return env[value.id]
    if isinstance(value, S.ListV):
        return replace(value, items=tuple(_substitute(v, env) for v in value.items))
    if isinstance(value, S.CallV):
        return replace(value, args=tuple(_substitute(v, env) for v in value.args),
                       kwargs=tuple(replace(k, value=_substitute(k.value, env)) for k in value.kwargs))
    return value


class Expander:
    """Expands the block uses of one model body; counts use names per block."""

    def __init__(self, blocks: dict[str, S.BlockDecl], errors: Collector, memo: StatementMemo | None = None):
        self.blocks, self.errors, self.memo = blocks, errors, memo
        self.counters: dict[str, int] = {}

    def expand(self, body: tuple, env: dict | None = None, stack: tuple = (), scope: tuple = ()) -> list:
        """[(statement, scope)] with every block use replaced by the block's statements."""
        env = env or {}
        out = []
        for stmt in body:
            if isinstance(stmt, S.Residual):
                out.append((replace(stmt, body=tuple(self.expand(stmt.body, env, stack, scope))), scope))
            elif isinstance(stmt, S.FromStmt) and stmt.name in env and isinstance(env[stmt.name], S.NameV):
                out.append((replace(stmt, name=env[stmt.name].id), scope))
            elif not isinstance(stmt, S.LayerUse):
                out.append((stmt, scope))
            else:
                out.extend(self._use(stmt, env, stack, scope))
        return out

    def _use(self, stmt: S.LayerUse, env: dict, stack: tuple, scope: tuple) -> list:
        use = stmt if not env else self._substituted(stmt, env)
        if use.op in OPS:
            return [(use, scope)]
        if use.op not in self.blocks:
            self.errors.add(f"unknown layer `{use.op}`", use.pos,
                            did_you_mean(use.op, list(OPS) + list(self.blocks)) or
                            f"layers: {', '.join(n for n, d in OPS.items() if d.kind == 'layer')}; "
                            f"activations and merges are listed in docs/ops.md")
            return []
        block = self.blocks[use.op]
        if use.op in stack:
            cycle = " -> ".join(stack[stack.index(use.op):] + (use.op,))
            self.errors.add(f"block `{use.op}` uses itself ({cycle})", use.pos, "blocks cannot be recursive")
            return []
        if len(stack) >= MAX_DEPTH:
            self.errors.add(f"blocks are nested more than {MAX_DEPTH} deep", use.pos)
            return []
        try:
            name = self._use_name(use)
            schema = {p.name: (p.default if p.default is not None else REQUIRED) for p in block.params}
            kwargs = tuple(k for k in use.kwargs if k.name != "name")
            bound = bind(use.op, use.args, kwargs, schema, "block", use.pos)
        except SpecError as e:
            self.errors.extend([e])
            return []
        inner = self.expand(block.body, bound, stack + (use.op,), scope + (name,))
        return inner + [(Alias(name, use.pos), scope)]

    def _substituted(self, stmt: S.LayerUse, env: dict) -> S.LayerUse:
        """The statement with the block's parameters replaced; the same object as in the last
        check (memo) when made from the same statement and argument objects."""
        def make():
            return replace(stmt, args=tuple(_substitute(a, env) for a in stmt.args),
                           kwargs=tuple(replace(k, value=_substitute(k.value, env)) for k in stmt.kwargs))
        if self.memo is None:
            return make()
        return self.memo.get("substituted", (stmt, *env.keys(), *env.values()), make)

    def _use_name(self, use: S.LayerUse) -> str:
        for k in use.kwargs:
            if k.name == "name":
                return as_str(k.value, "a block use's name")
        n = self.counters.get(use.op, 0) + 1
        self.counters[use.op] = n
        return f"{use.op}_{n}"


def expand(body: tuple, blocks: dict[str, S.BlockDecl], errors: Collector, memo: StatementMemo | None = None) -> list:
    """The statements of `body` with every block use expanded, each paired with its scope.

    `memo` (an editor's, across successive checks) keeps substituted statements the same objects.
    """
    return Expander(blocks, errors, memo).expand(body)
