"""The decision oracle: what ``defer_pallas_load_masks`` must decide, from what became of each
load's value, not from the pass's own walk of the fx graph.

The generators note each load's fate while they build a graph (:class:`Outcome`); for a finished
case file, :func:`expect_from_spec` derives the same notes by following the case's nodes.
:func:`expected_reason` turns them into the rule that applies. The minimizer uses the second
form: when it shrinks a graph, the expectation of the smaller graph must come from the rules,
not from the larger graph's ``expect`` nor from the pass under test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from reference.spec import Dim, KernelSpec

FILLS = {"sum": 0.0, "max": -math.inf, "min": math.inf, "dot_general": 0.0}
"""The fill each consumer masks its inputs with (CASES.md: a dot and a sum with 0, max with
-inf, min with +inf)."""


@dataclass(frozen=True)
class Outcome:
    """What one use of a load's value (through permutes only) turned out to be."""

    kind: str  # "remask" (a consumer's mask), "reshape" or "other" (store, elementwise, ...)
    fill: float = 0.0
    positions: dict[str, int] = field(default_factory=dict)  # tile -> dim at the consumer
    rank: int = 0


def expected_reason(load_shape: tuple[Dim, ...], tile: str, outcomes: list[Outcome]) -> str:
    """The pass's rule for (load, tile), from what the builder made of the load's uses.

    ``deferred`` exactly when the load is rank 3 or more with the tile major, every use ends
    in a zero-fill consumer mask through permutes only, and the tile sits in the last two
    dims there; otherwise the reason names the first rule that refuses, in this order
    whatever the order of the uses: rank, position at the load, reshape, second use, fill,
    position at the consumer.
    """
    rank = len(load_shape)
    if rank <= 2:
        return "rank-2"
    if load_shape.index(tile) >= rank - 2:
        return "last-two-at-load"
    if not outcomes:
        return "no-uses"
    kinds = {o.kind for o in outcomes}
    if "reshape" in kinds:
        return "reshape"
    if "other" in kinds:
        return "second-use"
    if any(o.fill != 0 for o in outcomes):
        return "nonzero-fill"
    if any(o.positions[tile] < o.rank - 2 for o in outcomes):
        return "not-last-two-at-consumer"
    return "deferred"


def expect_from_spec(spec: KernelSpec) -> dict[str, dict[str, str]]:
    """Per load, per tile: the reason the rules give, found by following the case's nodes
    from each load through permutes to the uses that end each path."""
    from reference.graph import values_of

    values = values_of(spec)
    users: dict[str, list[tuple[str, str]]] = {}  # value -> (op, out) of each use
    for node in spec.graph:
        for f in ("arg", "lhs", "rhs"):
            if f in node.fields and isinstance(node[f], str) and node[f] in values:
                users.setdefault(node[f], []).append((node.op, node.out or ""))

    def fates(name: str) -> list[Outcome]:
        here = values[name]
        positions = {t: i for i, t in enumerate(here.tiles) if t is not None}
        found: list[Outcome] = []
        for op, out in users.get(name, []):
            if op == "permute":
                found += fates(out)
            elif op == "reshape":
                found.append(Outcome("reshape"))
            elif op in FILLS:
                found.append(Outcome("remask", FILLS[op], positions, here.rank))
            else:
                found.append(Outcome("other"))
        return found

    expect = {}
    for node in spec.graph:
        if node.op == "load":
            shape = tuple(spec.inputs[node["src"]])
            tiles = dict.fromkeys(d for d in shape if isinstance(d, str))
            expect[node.out] = {t: expected_reason(shape, t, fates(node.out)) for t in tiles}  # type: ignore[index]
    return expect
