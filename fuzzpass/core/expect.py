"""The decision oracle: what ``defer_pallas_load_masks`` must decide, from what became of each
load's value, not from the pass's own walk of the fx graph. It sits with the case contract:
the generators, the judge and the minimizer all derive a case's expectation from these rules.

The generators note each load's fate while they build a graph (:class:`Outcome`); for a finished
case file, :func:`expect_from_spec` derives the same notes by following the case's nodes.
:func:`expected_reason` turns them into the rule that applies. The minimizer uses the second
form: when it shrinks a graph, the expectation of the smaller graph must come from the rules,
not from the larger graph's ``expect`` nor from the pass under test.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from reference.relayouts import RELAYOUT_OPS
from reference.spec import Dim, KernelSpec

T = TypeVar("T")

FILLS = {"sum": 0.0, "max": -math.inf, "min": math.inf, "dot_general": 0.0, "dot": 0.0}
"""The fill each consumer masks its inputs with (CASES.md: a dot and a sum with 0, max with
-inf, min with +inf). ``dot`` (``hl.dot``) masks an operand only where its K is a tile."""


def masks_operand(op: str, field: str, rank: int, tiles: tuple[str | None, ...]) -> bool:
    """Whether consumer ``op`` masks its input ``field`` of that rank and tiles (Helion masks an
    ``hl.dot`` operand along K only, where K is a tile: the lhs's last dim, the rhs's second
    to last)."""
    if op != "dot":
        return True
    return tiles[rank - 1 if field == "lhs" else rank - 2] is not None


@dataclass(frozen=True)
class Outcome:
    """What one use of a load's value (through permutes only) turned out to be."""

    kind: str  # "remask" (a consumer's mask), "reshape" or "other" (store, elementwise, ...)
    fill: float = 0.0
    positions: dict[str, int] = field(default_factory=dict)  # tile -> dim at the consumer
    rank: int = 0


def expected_reason(load_shape: tuple[Dim, ...], tile: str, outcomes: list[Outcome]) -> str:
    """The pass's rule for (load, tile), from what the builder made of the load's uses.

    ``deferred`` exactly when the tile is one dim of the load, the load is rank 3 or more with
    the tile major, every use ends in a zero-fill consumer mask through permutes only, and the
    tile sits in the last two dims there; otherwise the reason names the first rule that
    refuses, in this order whatever the order of the uses: uniqueness, rank, position at the
    load, reshape, second use, fill, a consumer where the tile did not move, position at the
    consumer.
    """
    rank = len(load_shape)
    if load_shape.count(tile) > 1:
        return "tile-not-unique"
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
    if any(o.rank - o.positions[tile] == rank - load_shape.index(tile) for o in outcomes):
        return "axis-not-moved"  # the same place counted from the lane dim (MaskDeferral.moved)
    if any(o.positions[tile] < o.rank - 2 for o in outcomes):
        return "not-last-two-at-consumer"
    return "deferred"


def safe_and_moved(load_shape: tuple[Dim, ...], tile: str, outcomes: list[Outcome]) -> bool:
    """Whether deferring (load, tile) is safe and moves the axis, whatever a profitability gate
    says: the tile one dim of the load, every use a zero-fill consumer mask through permutes
    only, and each of them seeing the tile at another dim than the load had it."""
    if load_shape.count(tile) != 1 or not outcomes:
        return False
    if any(o.kind != "remask" or o.fill != 0 for o in outcomes):
        return False
    rank = len(load_shape)
    return all(o.rank - o.positions[tile] != rank - load_shape.index(tile) for o in outcomes)


def expect_forced(spec: KernelSpec, relayouts: frozenset[str] = RELAYOUT_OPS) -> dict[str, dict[str, bool]]:
    """Per load, per tile: :func:`safe_and_moved`, from the case's nodes (what a gate other
    than the positional one may defer)."""
    return _per_load(spec, safe_and_moved, relayouts)


def expect_from_spec(spec: KernelSpec, relayouts: frozenset[str] = RELAYOUT_OPS) -> dict[str, dict[str, str]]:
    """Per load, per tile: the reason the rules give, found by following the case's nodes
    from each load through ``relayouts`` to the uses that end each path."""
    return _per_load(spec, expected_reason, relayouts)


def _per_load(
    spec: KernelSpec, rule: Callable[[tuple[Dim, ...], str, list[Outcome]], T], relayouts: frozenset[str]
) -> dict[str, dict[str, T]]:
    from reference.defer import admits
    from reference.graph import values_of

    values = values_of(spec)
    users: dict[str, list[tuple[str, str, str, int | None]]] = {}  # value -> (op, out, field, dim) of each use
    for node in spec.graph:
        for f in ("arg", "lhs", "rhs"):
            if f in node.fields and isinstance(node[f], str) and node[f] in values:
                users.setdefault(node[f], []).append((node.op, node.out or "", f, node.fields.get("dim")))

    def fates(name: str) -> list[Outcome]:
        here = values[name]
        positions = {t: i for i, t in enumerate(here.tiles) if t is not None}
        found: list[Outcome] = []
        for op, out, f, dim in users.get(name, []):
            if admits(relayouts, op, dim, here.rank):
                found += fates(out)
            elif op == "reshape":
                found.append(Outcome("reshape"))
            elif op in FILLS and masks_operand(op, f, here.rank, here.tiles):
                found.append(Outcome("remask", FILLS[op], positions, here.rank))
            else:
                found.append(Outcome("other"))
        return found

    expect = {}
    for node in spec.graph:
        if node.op == "load":
            shape = tuple(spec.inputs[node["src"]])
            tiles = dict.fromkeys(d for d in shape if isinstance(d, str))
            expect[node.out] = {t: rule(shape, t, fates(node.out)) for t in tiles}  # type: ignore[index]
    return expect
