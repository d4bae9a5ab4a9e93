"""Named weightings of the generators, and swarm testing.

A policy says what a run spends its cases on. ``mixed`` draws everything; the others lean on
one part of the pass's argument: ``deferrable`` only graphs the pass must defer (the deferred
kernel's numerics), ``negative`` always adds a structure that must keep the eager mask
(reshape, second use, non-zero fill), ``gate-boundary`` puts the tile next to the
major/last-two boundary at both ends (the profitability gate).

Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each worker of a run leaves out a
random subset of op kinds. A graph that never has a ``max`` reaches deep ``sum`` and ``dot``
structures more often than a uniform mix does; across workers every kind still gets drawn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

Weights = tuple[tuple[str, int], ...]
"""Choices with integer weights; the first choice is where Hypothesis shrinks to."""

CONSUMERS = ("reduce", "dot", "hl-dot", "elementwise", "store")
"""What ends the main path: a reduction, a dot with a second operand (``lax.dot_general``, or
Helion's ``hl.dot``), an elementwise op and a reduction, or a store."""

NEGATIVES = ("none", "reshape", "second-use", "nonzero-fill")
"""Structures on the main path that must keep the eager mask (``none``: no such structure)."""

SWARM_KINDS = ("reshape", "dot_general", "dot", "sum", "max", "min", "elementwise", "cast")
"""Op kinds a swarm worker may leave out (``elementwise`` stands for exp/neg/abs/add/...).
``permute`` is never left out: without it nothing is deferred, and the worker would only
test refusals."""

REDUCING_KINDS = ("dot_general", "dot", "sum", "max", "min")


@dataclass(frozen=True)
class Policy:
    """How often each kind of structure is drawn."""

    name: str
    doc: str
    ranks: Weights
    tile_counts: Weights
    dtypes: Weights
    consumers: Weights
    negatives: Weights
    positions: Weights
    """Where the first tile sits. ``any``: anywhere at the load and wherever the permutes take
    it; ``deferrable``: major at the load, last-two at the consumer; ``gate-boundary``: the
    dims next to the major/last-two boundary at both ends."""
    reductions: Weights
    distributions: Weights
    extra_path: int
    """Percent of graphs that get a second clean permute path from the load (a use that does
    not stop deferral)."""
    blocks: Weights = (("8", 3), ("16", 3), ("128", 1), ("3", 1), ("5", 1), ("12", 1))
    """Block sizes: TPU layout's favourites (8, 16, 128) first, odd ones after."""
    helion: bool = False
    """Draw only cases Helion's language can state (``reference.helion_codegen``)."""
    plain_dims: tuple[int, ...] = (2, 4, 8, 16, 3, 5, 1)
    """Sizes of a load's untiled dims, but the last."""
    lane_dims: tuple[int, ...] = (2, 4, 8, 16, 3, 5, 1, 128)
    """Sizes of a load's last (lane) dim when untiled: a full 128-lane row too."""
    free_dims: tuple[int, ...] = (2, 8, 16, 3)
    """Sizes of a dot's second operand's own free dim."""
    repeats: int = 0
    """Percent of main loads where one tile fills two dims (the pass refuses that tile:
    ``tile-not-unique``; another tile of the load may still be deferred)."""
    repeat_tile_counts: tuple[int, ...] = (1, 2)
    """Tile counts a repeat is drawn with: two only, and the tile that is not repeated stays
    the pass's to defer."""
    dead_loads: int = 0
    """Percent of graphs with a load nobody uses (``no-uses``)."""
    elementwise_forms: Weights = (("unary", 2), ("scalar", 2), ("broadcast", 1))
    """An elementwise op's form: unary, with a scalar, or with an untiled input broadcast onto
    the tiles (Helion's ``broadcasts_onto_masked_lanes``)."""
    chains: int = 20
    """Percent of elementwise ops followed by a second one."""
    infinite: int = 15
    """Percent of ``add``/``sub``/``mul`` scalars drawn with ``inf`` and ``-inf`` among them."""
    operand_ops: int = 30
    """Percent of ``hl.dot`` operands with an elementwise op between load and dot (the partner
    rule's ground)."""
    rank_changes: int = 0
    """Percent of permute chains with a rank-changing op among the permutes (Helion 1.5.1's
    pass keeps the eager mask there; ``candidates/rank_changing_relayouts.py`` defers through
    two of them)."""
    rank_ops: Weights = (("squeeze", 2), ("unsqueeze", 2), ("subscript", 1), ("expand", 1))
    """Which rank-changing op: ``squeeze``/``expand`` of a plain dim of size 1, ``unsqueeze``
    or ``x[:, None]`` (``subscript``) anywhere."""
    realistic: bool = False
    """Draw real kernels' shapes (``generators/realistic.py``): ``consumers`` then name its
    patterns, ``positions`` K's layout, ``plain_dims`` the heads, ``lane_dims`` the head dims,
    ``free_dims`` the other operand's rows or a projection's width."""


_JAGGED: Weights = (("random", 3), ("uniform", 2), ("ramp", 2), ("boundary", 3), ("zero", 1), ("single", 1))
_REDUCTIONS: Weights = (("sum", 3), ("max", 1), ("min", 1))
_DTYPES: Weights = (("float32", 3), ("bfloat16", 3), ("float16", 1))

POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy(
            name="mixed",
            doc="everything, about a third of graphs with a structure that must keep the eager mask",
            ranks=(("3", 4), ("2", 1), ("4", 2)),
            tile_counts=(("1", 4), ("2", 1)),
            dtypes=_DTYPES,
            consumers=(("reduce", 3), ("dot", 3), ("hl-dot", 2), ("elementwise", 1), ("store", 1)),
            negatives=(("none", 5), ("reshape", 2), ("second-use", 1), ("nonzero-fill", 1)),
            positions=(("any", 2), ("deferrable", 3), ("gate-boundary", 1)),
            reductions=_REDUCTIONS,
            distributions=_JAGGED,
            extra_path=15,
            repeats=5,
            dead_loads=3,
        ),
        Policy(
            name="deferrable",
            doc="only graphs the pass must defer: the deferred kernel's numerics",
            ranks=(("3", 3), ("4", 2)),
            tile_counts=(("1", 4), ("2", 1)),
            dtypes=_DTYPES,
            consumers=(("reduce", 1), ("dot", 1), ("hl-dot", 1)),
            negatives=(("none", 1),),
            positions=(("deferrable", 1),),
            reductions=(("sum", 1),),
            distributions=_JAGGED,
            extra_path=25,
            repeats=10,  # a second tile filling two dims: refused beside the tile that is deferred
            repeat_tile_counts=(2,),
        ),
        Policy(
            name="negative",
            doc="every graph has a structure that must keep the eager mask",
            ranks=(("3", 3), ("4", 2)),
            tile_counts=(("1", 4), ("2", 1)),
            dtypes=_DTYPES,
            consumers=(("reduce", 2), ("dot", 2), ("hl-dot", 1), ("elementwise", 1)),
            negatives=(("reshape", 1), ("second-use", 1), ("nonzero-fill", 1)),
            positions=(("deferrable", 1),),
            reductions=_REDUCTIONS,
            distributions=_JAGGED,
            extra_path=10,
            repeats=10,
            dead_loads=5,
        ),
        Policy(
            name="helion",
            doc="only cases production Helion can state (--backend helion): power-of-two blocks, rank 2-3 dots",
            ranks=(("3", 6), ("2", 1), ("4", 1)),
            tile_counts=(("1", 6), ("2", 1)),
            dtypes=(("float32", 3), ("bfloat16", 3), ("float16", 1)),
            consumers=(("reduce", 3), ("dot", 3), ("hl-dot", 2), ("elementwise", 1), ("store", 1)),
            negatives=(("none", 5), ("reshape", 2), ("second-use", 1), ("nonzero-fill", 1)),
            positions=(("deferrable", 6), ("any", 1), ("gate-boundary", 1)),
            reductions=_REDUCTIONS,
            distributions=_JAGGED,
            extra_path=15,
            blocks=(("8", 3), ("16", 3), ("128", 1)),
            helion=True,
            rank_changes=10,
        ),
        Policy(
            name="neighbours",
            doc="what Helion's rules beside the pass read: hl.dot with a deferred or scaled operand, "
            "infinite factors, broadcasts onto masked lanes",
            ranks=(("3", 4), ("2", 1)),
            tile_counts=(("1", 4), ("2", 1)),
            dtypes=_DTYPES,
            consumers=(("hl-dot", 4), ("elementwise", 2), ("reduce", 1)),
            negatives=(("none", 4), ("nonzero-fill", 1)),
            positions=(("deferrable", 3), ("any", 1)),
            reductions=(("sum", 3), ("max", 1)),
            distributions=_JAGGED,
            extra_path=30,
            blocks=(("8", 3), ("16", 3), ("128", 1)),
            elementwise_forms=(("unary", 1), ("scalar", 2), ("broadcast", 2)),
            chains=40,
            infinite=50,
            operand_ops=50,
        ),
        Policy(
            name="relayouts",
            doc="a squeeze, unsqueeze, x[:, None] or expand among the permutes from a load to its "
            "remask, the tile major at the load (the candidate pass's ground)",
            ranks=(("3", 3), ("2", 1), ("4", 1)),
            tile_counts=(("1", 4), ("2", 1)),
            dtypes=_DTYPES,
            consumers=(("reduce", 3), ("dot", 2), ("hl-dot", 1), ("store", 1)),
            negatives=(("none", 6), ("second-use", 1)),
            positions=(("deferrable", 3), ("any", 1), ("gate-boundary", 1)),
            reductions=(("sum", 3), ("max", 1)),
            distributions=_JAGGED,
            extra_path=20,
            plain_dims=(1, 2, 8, 3),
            lane_dims=(1, 8, 128, 3),
            rank_changes=80,
        ),
        Policy(
            name="realistic",
            doc="attention and projection tiles as Helion's kernels use them: head dims 64-256 on the lanes, "
            "sequence blocks of 64-512 rows, 1-16 heads, bfloat16 first, dense-KV and jagged lengths",
            ranks=(("3", 1),),
            tile_counts=(("1", 1),),
            dtypes=(("bfloat16", 3), ("float32", 1)),
            consumers=(("scores", 3), ("values", 2), ("projection", 2), ("scores-q", 1), ("pooling", 1)),
            negatives=(("none", 1),),
            positions=(("seq-major", 3), ("head-major", 2)),
            reductions=(("sum", 1),),
            distributions=(("uniform", 2), ("ramp", 2), ("random", 3), ("boundary", 1)),
            extra_path=0,
            blocks=(("128", 3), ("256", 2), ("64", 1), ("512", 1)),
            plain_dims=(8, 1, 2, 4, 16),
            lane_dims=(128, 64, 256),
            free_dims=(128, 64, 256, 512),
            realistic=True,
        ),
        Policy(
            name="gate-boundary",
            doc="the tile next to the major/last-two boundary at the load and at the consumer",
            ranks=(("3", 3), ("4", 2)),
            tile_counts=(("1", 1),),
            dtypes=_DTYPES,
            consumers=(("reduce", 1), ("dot", 1)),
            negatives=(("none", 1),),
            positions=(("gate-boundary", 1),),
            reductions=(("sum", 1),),
            distributions=_JAGGED,
            extra_path=10,
        ),
    )
}


def swarm(rng: random.Random) -> frozenset[str]:
    """A random subset of :data:`SWARM_KINDS` to leave out, keeping one reducing kind so
    that a graph can still end in a consumer mask."""
    disabled = {kind for kind in SWARM_KINDS if rng.random() < 0.5}
    if all(kind in disabled for kind in REDUCING_KINDS):
        disabled.discard(rng.choice(REDUCING_KINDS))
    return frozenset(disabled)
