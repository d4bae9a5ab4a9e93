"""The pass's profitability gates: when deferring a mask that is safe to defer pays.

Safety (``MaskDeferral.all_uses_remask``) decides whether a mask *may* move; a gate decides
whether it *should*. Both gates here see the same safe deferral: the load, the tile, and the
consumer masks that would discharge it. They return ``deferred`` or the reason they refuse.

``positional`` is Helion's pass as written (``node_masking.py``): it looks at positions only.
``layout`` also looks at how the masked dim lies in the TPU's vector layout; the gate audit
(``fuzzpass run --check-gate``, ``fuzzpass gate-report``) compares both on the same cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch.fx

from reference.reasons import Reason
from reference.registry import Registry
from reference.values import Value, sublane_tile


class Positions(Protocol):
    """What a gate asks of the pass (``MaskDeferral``'s predicates, so a mutant that
    overrides one changes what the gate sees), and the TPU generation it compiles for."""

    generation: str | None

    def dim_index(self, node: torch.fx.Node, tile: str) -> int | None: ...

    def is_major_dim(self, node: torch.fx.Node, tile: str) -> bool: ...

    def is_last_two_dim(self, node: torch.fx.Node, tile: str) -> bool: ...

    def rank(self, node: torch.fx.Node) -> int: ...

    def moved(self, load: torch.fx.Node, tile: str, consumers: list[torch.fx.Node]) -> bool: ...

    def from_end(self, node: torch.fx.Node, tile: str) -> int | None: ...

    def value(self, node: torch.fx.Node) -> Value: ...


Decide = Callable[[Positions, torch.fx.Node, str, list[torch.fx.Node]], Reason]
"""A gate's rule: given the pass's predicates, the load, the tile and its consumer masks,
``deferred`` or the reason it refuses."""


@dataclass(frozen=True)
class Gate:
    """One profitability gate, as ``--gate NAME`` names it: its rule and what the rest of the
    harness needs to know of it, in one record beside the rule (as the op table's entries)."""

    name: str
    decide: Decide
    reasons: tuple[Reason, ...]
    """The refusals it can give: a run's coverage lists those of the gate it ran."""
    targeted: bool = False
    """It reads the target generation (``Positions.generation``): the audit compiles its
    choice once per generation."""
    minor_moves: bool = False
    """It may defer a tile already in the last two dims at the load: the pass asks it only
    after its safety proof, with the consumers, as it asks every gate of a major tile."""


GATES: Registry[Gate] = Registry("gate")
"""Gate name -> gate (``--gate``), in registration order."""

DEFAULT = "positional"
"""The reference's gate: Helion's pass as written."""


register = GATES.register
gate = GATES.lookup


def positional(p: Positions, load: torch.fx.Node, tile: str, consumers: list[torch.fx.Node]) -> Reason:
    """Major at the load, last-two at every consumer mask.

    Why it pays: a mask on a major (outer) dim is applied per outer row, one multiply per
    slab of the value; in the last two (sublane, lane) dims it is a per-register select. So
    defer only when the tile is major at the load and in the last two dims at every consumer
    mask. The reverse move puts the mask on the costlier axis: the pass's authors measured it
    about 1.5x slower on TPU. Because permutes keep rank, the gate also implies that a permute
    moved the axis; a consumer that sees the tile where the load had it is named apart
    (``axis-not-moved``)."""
    if not p.is_major_dim(load, tile):
        return "rank-2" if p.rank(load) <= 2 else "last-two-at-load"
    if not p.moved(load, tile, consumers):
        return "axis-not-moved"
    if not all(p.is_last_two_dim(c, tile) for c in consumers):
        return "not-last-two-at-consumer"
    return "deferred"


register(Gate("positional", positional, ("rank-2", "last-two-at-load", "axis-not-moved", "not-last-two-at-consumer")))

SELECT_VREGS = 64
"""The most vector registers the selects a deferral adds may cover (``layout``): fitted on the
static schedules of 1,332 audited cases, the same on either half of them."""


def vregs(v: Value) -> int:
    """Vector registers a value fills in the TPU's native layout: its last two dims in
    (sublane, lane) tiles of (8, 128) 32-bit words, 16-bit types packing two rows a sublane,
    times every major dim."""
    shape = (1, *v.shape) if v.rank == 1 else v.shape
    *major, rows, lanes = shape
    return math.prod(major) * -(-rows // sublane_tile(v.dtype)) * -(-lanes // 128)


def layout(p: Positions, load: torch.fx.Node, tile: str, consumers: list[torch.fx.Node]) -> Reason:
    """Major at the load, a block of two rows or more, and selects of at most
    :data:`SELECT_VREGS` registers at the consumers, wherever the tile lands there.

    Why it pays: the eager mask multiplies the loaded value once per slab of a major dim, the
    cost the positional gate saw; deferring replaces it by a ``jnp.where`` over each consumer's
    whole value, whose cost is that value's size in registers, not the tile's position. So the
    position at the consumer does not decide (a major -> major move also pays when the
    consumer is small), the size does: past :data:`SELECT_VREGS` registers the selects cost
    more than the multiply they replace, and a one-row block (``block 1``) has no slabs to save.
    The audit measured it against the static schedules of v5e, v6e and tpu7x
    (``docs/performance.md``). Rank 2 keeps its mask as in the positional gate: its only major
    dim is the sublane dim, and moving a mask from sublanes to lanes paid on some generations
    and cost on others."""
    if not p.is_major_dim(load, tile):
        return "rank-2" if p.rank(load) <= 2 else "last-two-at-load"
    if not p.moved(load, tile, consumers):
        return "axis-not-moved"
    if p.value(load).shape[p.dim_index(load, tile)] < 2:  # type: ignore[index]
        return "one-row-block"
    if sum(vregs(p.value(c)) for c in dict.fromkeys(consumers)) > SELECT_VREGS:
        return "select-too-large"
    return "deferred"


LAYOUT_REASONS: tuple[Reason, ...] = (
    "rank-2",
    "last-two-at-load",
    "axis-not-moved",
    "one-row-block",
    "select-too-large",
)

register(Gate("layout", layout, LAYOUT_REASONS))

NARROW_LANES = 2
"""The widest lane dim at which a consumer's selects are still weighed against
:data:`SELECT_VREGS` alone (``by_generation``): a value this narrow fills a sliver of each
register, and the schedules had deferring it costlier even where the load covers as many."""

UNPACKED_16BIT = frozenset({"v4", "v5e", "v5p"})
"""Generations whose vector unit has no 16-bit arithmetic: a packed (bfloat16) value is
unpacked to 32 bits to be masked, so where its mask sits costs differently than on v6e and
tpu7x, which compute on packed registers."""


def by_generation(p: Positions, load: torch.fx.Node, tile: str, consumers: list[torch.fx.Node]) -> Reason:
    """:func:`layout` with the selects weighed against the multiply they replace, told the
    TPU generation it compiles for (``p.generation``, as Helion's Pallas backend knows it)
    for the 16-bit values where the generations part.

    - The selects may cover more than :data:`SELECT_VREGS` registers where the load's value,
      which the eager mask multiplies, covers as many: the schedules had such deferrals 8-18%
      cheaper on v5e, v6e and tpu7x alike. Not where a consumer's lane dim is
      :data:`NARROW_LANES` wide or less: there the schedules had them 4-12% costlier (one
      lane on seeds 31 and 33, two on seed 41).
    - On :data:`UNPACKED_16BIT` generations a 16-bit tile moved from the sublane dim at the
      load to the lane dim at every consumer is deferred: the value is unpacked to be masked
      anyway, and the schedules had v5e 7% cheaper deferred (v6e and tpu7x within 5%).

    A third rule, fitted on seeds 31 and 33, kept the mask of a 16-bit block shorter than a
    packed sublane tile landing in a consumer's sublanes on v6e and tpu7x; seed 52 had seven
    such structures (51 cases) 5-8% cheaper deferred there, so it is gone.

    Read off the static schedules of ``--check-gate`` runs (``bench/gate_replay.py`` replays a
    run's cases with any gate) and measured on fresh runs in ``docs/performance.md``. Where
    the generation is not known, the 16-bit rule is off. The reverse direction (last two
    dims to a major dim) is never deferred, though v5e schedules some of it cheaper."""
    v = p.value(load)
    packed = sublane_tile(v.dtype) == 16 and p.generation is not None
    if not p.is_major_dim(load, tile):
        if packed and p.generation in UNPACKED_16BIT and consumers and sublane_to_lane(p, load, tile, consumers):
            return "deferred"
        return "rank-2" if p.rank(load) <= 2 else "last-two-at-load"
    if not p.moved(load, tile, consumers):
        return "axis-not-moved"
    block = v.shape[p.dim_index(load, tile)]  # type: ignore[index]
    if block < 2:
        return "one-row-block"
    values = [p.value(c) for c in dict.fromkeys(consumers)]
    multiplied = vregs(v) if all(c.shape[-1] > NARROW_LANES for c in values) else 0
    if sum(vregs(c) for c in values) > max(SELECT_VREGS, multiplied):
        return "select-too-large"
    return "deferred"


register(Gate("generation", by_generation, LAYOUT_REASONS, targeted=True, minor_moves=True))


def sublane_to_lane(p: Positions, load: torch.fx.Node, tile: str, consumers: list[torch.fx.Node]) -> bool:
    """The tile in the sublane dim at the load and in the lane dim at every consumer."""
    return p.from_end(load, tile) == 1 and all(p.from_end(c, tile) == 0 for c in consumers)
