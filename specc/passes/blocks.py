"""Pass: expand `block` uses into their layers, substituting parameters.

`block conv_pool(n, k=5) { conv2d(n, k); relu; maxpool(2) }` used as
`conv_pool(20)` becomes `conv2d(20, 5); relu; maxpool(2)`. A block that uses
itself (directly or through others) is an error naming the cycle.
"""
from __future__ import annotations

from dataclasses import replace

from .. import syntax as S
from ..errors import Collector, SpecError, did_you_mean
from ..ops import OPS, REQUIRED
from .values import bind

MAX_DEPTH = 64  # blocks nested deeper than this are surely a mistake


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


def expand(body: tuple, blocks: dict[str, S.BlockDecl], errors: Collector,
           env: dict | None = None, stack: tuple = ()) -> list:
    """The statements of `body` with every block use replaced by the block's layers."""
    env = env or {}
    out = []
    for stmt in body:
        if isinstance(stmt, S.Residual):
            out.append(replace(stmt, body=tuple(expand(stmt.body, blocks, errors, env, stack))))
            continue
        if not isinstance(stmt, S.LayerUse):
            out.append(stmt)
            continue
        use = replace(stmt, args=tuple(_substitute(a, env) for a in stmt.args),
                      kwargs=tuple(replace(k, value=_substitute(k.value, env)) for k in stmt.kwargs))
        if use.op in OPS:
            out.append(use)
            continue
        if use.op not in blocks:
            errors.add(f"unknown layer `{use.op}`", use.pos,
                       did_you_mean(use.op, list(OPS) + list(blocks)))
            continue
        block = blocks[use.op]
        if use.op in stack:
            cycle = " -> ".join(stack[stack.index(use.op):] + (use.op,))
            errors.add(f"block `{use.op}` uses itself ({cycle})", use.pos, "blocks cannot be recursive")
            continue
        if len(stack) >= MAX_DEPTH:
            errors.add(f"blocks are nested more than {MAX_DEPTH} deep", use.pos)
            continue
        try:
            schema = {p.name: (p.default if p.default is not None else REQUIRED) for p in block.params}
            bound = bind(use.op, use.args, use.kwargs, schema, "block", use.pos)
        except SpecError as e:
            errors.extend([e])
            continue
        out.extend(expand(block.body, blocks, errors, bound, stack + (use.op,)))
    return out

