"""Every structure the generators can draw, up to a number of graph nodes: ``fuzzpass exhaust``.

The generators build a graph from a sequence of choices (:class:`~generators.structures.Choices`).
Hypothesis picks them at random; :class:`Enumerated` takes, on each walk of the builder, the
next path through the tree of those choices, as an odometer does, so every path is walked once
and a walk stops as soon as the graph passes the node bound (nodes are only ever added, so
nothing below that choice can fit). Different paths can build the same graph; each distinct
structure is kept once. The choices are the generators' own, so "every structure the
generators can draw up to K nodes" is what this yields, over the fixed shapes, blocks and
dtypes of the :data:`EXHAUST` policy.

Each structure is checked on the jagged lengths where a mask's bugs show (:func:`instances`):
an empty sequence, a single one, lengths one off a block boundary, and full blocks only.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from generators.policies import Policy, Weights
from generators.structures import Structure, TooLarge, build

T = TypeVar("T")

EXHAUST = Policy(
    name="exhaust",
    doc="the small fixed set fuzzpass exhaust enumerates: one tile of block 8, float32, plain dims 2, lanes 8",
    ranks=(("2", 1), ("3", 1), ("4", 1)),
    tile_counts=(("1", 1),),
    dtypes=(("float32", 1),),
    consumers=(("reduce", 1), ("dot", 1), ("elementwise", 1), ("store", 1)),
    negatives=(("none", 1), ("reshape", 1), ("second-use", 1), ("nonzero-fill", 1)),
    positions=(("any", 1),),  # every tile position at the load; the permutes take it anywhere after
    reductions=(("sum", 1), ("max", 1)),
    distributions=(("boundary", 1),),
    extra_path=50,
    blocks=(("8", 1),),
    plain_dims=(2,),
    lane_dims=(8,),
    free_dims=(2,),
    repeats=50,
    dead_loads=50,
)
"""What the enumeration ranges over. Every branch of the pass depends on where the tile sits
and what uses a load has, not on sizes or dtypes, so one tile (rank 2-4: rank 4 is the first
with a major dim that is not the first), one block (8: a full sublane tile), one plain size,
one lane size and float32 cover them; ``max`` stands for both non-zero fills (``min`` is its
mirror). Two tiles, other sizes and dtypes are random fuzzing's: they multiply the structures
of four nodes by about four."""

EXHAUST_RELAYOUTS = Policy(
    name="exhaust-relayouts",
    doc="a rank-changing op on every permute chain: squeeze, unsqueeze, x[:, None] or expand, plain dims 1 and 2",
    ranks=(("3", 1), ("4", 1)),
    tile_counts=(("1", 1),),
    dtypes=(("float32", 1),),
    consumers=(("reduce", 1), ("dot", 1), ("store", 1)),
    negatives=(("none", 1), ("second-use", 1)),
    positions=(("any", 1),),
    reductions=(("sum", 1),),
    distributions=(("boundary", 1),),
    extra_path=0,
    blocks=(("8", 1),),
    plain_dims=(1, 2),
    lane_dims=(8,),
    free_dims=(2,),
    rank_changes=100,
)
"""What ``fuzzpass exhaust --policy relayouts`` ranges over: the relayouts a candidate pass may
defer through (``candidates/``), one on every path, and a plain dim of size 1 for ``squeeze``
and ``expand`` to take. Rank 3 and 4 only, a sum as the only reduction, no extra paths: the
structures of four nodes number about 11,000, not the 70,000 that size-1 dims alone would
add to :data:`EXHAUST`."""

EXHAUST_POLICIES = {"exhaust": EXHAUST, "relayouts": EXHAUST_RELAYOUTS}
"""``fuzzpass exhaust --policy``: what the enumeration ranges over."""


@dataclass
class Enumerated:
    """Choices that follow ``prefix`` (an index per choice), then take each first option,
    recording every choice made and how many options it had."""

    prefix: Sequence[int] = ()
    taken: list[tuple[int, int]] = field(default_factory=list)

    def choose(self, n: int) -> int:
        k = self.prefix[len(self.taken)] if len(self.taken) < len(self.prefix) else 0
        self.taken.append((k, n))
        return k

    def pick(self, options: Sequence[T]) -> T:
        return options[self.choose(len(options))]

    def weighted(self, weights: Weights) -> str:
        return self.pick([choice for choice, w in weights if w > 0])

    def integer(self, lo: int, hi: int) -> int:
        return lo + self.choose(hi - lo + 1)

    def boolean(self) -> bool:
        return bool(self.choose(2))

    def permutation(self, n: int) -> list[int]:
        return list(self.pick(list(itertools.permutations(range(n)))))

    def percent(self, p: int) -> bool:
        return p >= 100 if p <= 0 or p >= 100 else self.boolean()

    def successor(self) -> list[int] | None:
        """The next path: the last choice with an option left advanced, the ones after it
        reset; None once every path has been walked."""
        for i in reversed(range(len(self.taken))):
            k, n = self.taken[i]
            if k + 1 < n:
                return [t for t, _ in self.taken[:i]] + [k + 1]
        return None


def key(s: Structure) -> str:
    """What makes two structures the same graph."""
    nodes = [[n.op, n.out, sorted(n.fields.items())] for n in s.graph]
    return json.dumps([s.dtype, sorted(s.blocks.items()), sorted(s.inputs.items()), nodes])


def every_structure(max_nodes: int, policy: Policy = EXHAUST) -> Iterator[Structure]:
    """Each distinct structure of at most ``max_nodes`` nodes the generators can build under
    ``policy``, every op kind enabled, in the order the walk meets them."""
    seen: set[str] = set()
    prefix: list[int] | None = []
    while prefix is not None:
        c = Enumerated(prefix)
        try:
            s = build(c, policy, frozenset(), max_nodes)
        except TooLarge:
            s = None
        if s is not None and (k := key(s)) not in seen:
            seen.add(k)
            yield s
        prefix = c.successor()


def by_size(max_nodes: int, policy: Policy = EXHAUST) -> list[Structure]:
    """:func:`every_structure`, smallest graphs first (stable within a size)."""
    return sorted(every_structure(max_nodes, policy), key=lambda s: len(s.graph))


LENGTHS = {
    "jagged": lambda b: (0, b - 1, b, b + 1),
    "single": lambda b: (2 * b + 1,),
}
"""The jagged lengths that matter, per block, in two instances: ``jagged`` has an empty
sequence, one a row short of a block, a full block (a mask that clears nothing) and one a row
past, side by side in one grid, each its own work items; ``single`` is one sequence (a plain
dim) a row past two blocks. Each work item is checked on its own, so one grid holds all the
jagged cases; both instances have four work items and the same rows bucket, so a structure's
kernels compile once for both."""


def instances(s: Structure) -> list[tuple[str, dict[str, tuple[int, ...]]]]:
    """Per distribution, the lengths of every tile of ``s``."""
    return [(name, {t: lengths(b) for t, b in s.blocks.items()}) for name, lengths in LENGTHS.items()]
