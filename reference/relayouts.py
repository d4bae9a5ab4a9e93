"""The ops a mask may be deferred through: one set, read by the pass (``reference.defer``),
Helion's rules beside it (``reference.neighbours``) and the decision oracle
(``fuzzpass.core.expect``), as Helion's pass and rules share ``_RELAYOUT_TARGETS``."""

from __future__ import annotations

import functools

from reference.ops.base import lookup

RELAYOUT_OPS = frozenset({"permute"})
"""The case ops a mask may be deferred through in Helion 1.5.1 (its ``_RELAYOUT_TARGETS``):
rank-preserving, moving whole axes. Deliberately not ``reshape`` (regroups elements), nor
``expand`` (replicates padded lanes); ``squeeze``/``unsqueeze`` wait for their own tests
(``candidates/rank_changing_relayouts.py``). An entry ``op:major`` admits ``op`` only where it
drops or adds a major dim (``reference.ops.layout.keeps_vreg_tiles``). A candidate pass may name
more (``MaskDeferral.relayout_ops``), and the oracle's expectation follows its own."""


@functools.cache
def relayout_targets(ops: frozenset[str]) -> frozenset[object]:
    """The fx targets of the case ops ``ops`` (qualifiers dropped), from the op table (filled
    by the time anything asks: importing ``reference.ops.base`` imports the whole table)."""
    return frozenset(lookup(op.partition(":")[0]).target for op in ops)
