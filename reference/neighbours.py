"""Helion's rules beside the pass: the code that reads what ``defer_pallas_load_masks``
decides, with Helion's names (``helion/_compiler/node_masking.py``), so that a disagreement
with Helion names the rule. :class:`Neighbours` is Helion 1.5.1's set; five of its rules are
new in 1.5.1 (:data:`RULES`: 1.4.0, 1.5.0 and Helion's main of 2026-08-22 have none of them),
and ``Neighbours(absent=...)`` or :func:`for_helion` gives the rules of a Helion without some,
each absent rule doing what such a Helion does:

- ``dots_zeroed_by_partner`` (Helion: ``_dots_zeroed_by_partner``). ``remove_unnecessary_masking``
  drops an ``hl.dot`` operand's zero-fill mask when the partner operand is already 0 past K: the
  padded lanes' products are then 0 without it. That holds only for finite lanes (NaN times 0
  is NaN), so a known non-finite masked value keeps the mask, and so does a source whose mask
  the pass deferred: its lanes are stale. An unknown masked value is taken to be finite, as
  Helion takes it. Without it: no mask is dropped for that reason.
- ``strict_float`` (Helion: ``MaskedValueAnalysisInductor.mul``). Without fast math, 0 times a
  factor that may not be finite is unknown, not 0. Without it: Inductor's product rule, 0
  times anything is 0.
- ``broadcasts_onto_masked_lanes`` (Helion's name). An input broadcast along a dim that is not
  1 puts its real values on the output's padded lanes, so its masked value does not carry.
  Without it: a broadcast input keeps its masked value.
- ``mask_along_k`` (Helion: ``_associate_latest_matmul_fact`` in
  ``helion/language/matmul_ops.py``). ``hl.dot`` masks each operand to 0 along K where K is a
  tile (:meth:`Neighbours.masks_operand`, which the graph builder asks). Without it: ``hl.dot``
  masks no operand, so no use of a load through one is a remask.
- ``expand_masked_value`` (Helion's name, ``helion/_compiler/aten_lowering.py``). An
  ``expand`` that broadcasts its input onto lanes that may be masked has no known masked
  value. Without it: an expand passes its input's masked value through. (1.5.1 also gives
  ``stack`` a rule of its own; a case has no ``stack``.)

One more rule is in every Helion the harness meets (1.5.0 and 1.5.1):

- ``deferred_mask_consumers`` (Helion: ``PALLAS_DEFERRED_MASK_CONSUMERS_META``). Per deferred
  load, per tile, the names of the ``_mask_to`` nodes that discharge its mask: Helion's
  emit-pipeline lowering adds a physical extent mask there when a shortened DMA can leave the
  VMEM tail stale.

The rules are methods of :class:`Neighbours` so that a mutant overrides exactly one. The one
in use is a context variable (:func:`using`): the graph builder, the op table's masked-value
rules and the mask cleanup ask :func:`current` rather than take it as an argument through
every rule. Each rule notes the branch it took in :attr:`Neighbours.taken` (``rule:branch``),
which the coverage table counts, zeros included (:data:`BRANCHES`); an absent rule notes none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.fx

from reference import relayouts
from reference.ops.contraction import hl_dot
from reference.registry import Registry
from reference.values import Value

if TYPE_CHECKING:
    from reference.ops.base import MaskedValue, Op

PALLAS_DEFERRED_MASK_CONSUMERS_META = "pallas_deferred_mask_consumers"
"""Load meta: deferred tile -> the names of the ``_mask_to`` nodes that discharge its mask."""

BRANCHES: dict[str, tuple[str, ...]] = {
    "dots_zeroed_by_partner": (
        "fill-not-zero",
        "known-non-finite",
        "deferred-source",
        "partner-zero",
        "partner-not-zero",
    ),
    "strict_float": ("finite", "may-not-be-finite"),
    "broadcasts_onto_masked_lanes": ("broadcast", "no-broadcast"),
    "deferred_mask_consumers": ("one", "several"),
}
"""Every branch of each neighbour rule, as the coverage table lists them."""


@dataclass(frozen=True)
class Rule:
    """One of Helion's rules beside the pass that a Helion may lack: where Helion has it, how
    its source shows it, and what a Helion without it does."""

    name: str
    """The rule's name here (a :class:`Neighbours` method, or the op rule that asks it)."""
    file: str
    """The Helion file that has it, relative to the directory holding the ``helion`` package."""
    marker: str
    """A regular expression (``re.MULTILINE | re.DOTALL``) that matches ``file``'s text exactly
    when that Helion has the rule."""
    without: str
    """What a Helion without it does, in a line."""

    def __post_init__(self) -> None:
        if not self.file.startswith("helion/"):
            raise ValueError(f"rule {self.name!r}: {self.file!r} is not a file of the helion package")
        re.compile(self.marker)  # a bad marker fails here, not in a run


NODE_MASKING = "helion/_compiler/node_masking.py"
MATMUL_OPS = "helion/language/matmul_ops.py"
ATEN_LOWERING = "helion/_compiler/aten_lowering.py"


RULES: Registry[Rule] = Registry("rule")
"""The rules a Helion may lack, by name: all of them are Helion 1.5.1's, none is 1.5.0's."""

for _rule in (
    Rule(
        "dots_zeroed_by_partner",
        NODE_MASKING,
        r"^def _dots_zeroed_by_partner\b",
        "no hl.dot operand's mask is dropped for its partner's zeros",
    ),
    Rule("strict_float", NODE_MASKING, r"\bstrict_float\b", "Inductor's product: 0 times anything is 0"),
    Rule(
        "broadcasts_onto_masked_lanes",
        NODE_MASKING,
        r"^def broadcasts_onto_masked_lanes\b",
        "a broadcast input keeps its masked value",
    ),
    Rule(
        "mask_along_k",
        MATMUL_OPS,
        # the call to ``apply_masking`` inside ``_associate_latest_matmul_fact`` (before the
        # next line that starts at column 0)
        r"^def _associate_latest_matmul_fact\b(?:(?!^\S).)*?\bapply_masking\(",
        "hl.dot masks no operand",
    ),
    Rule(
        "expand_masked_value",
        ATEN_LOWERING,
        r"^def expand_masked_value\b",
        "an expand passes its input's masked value through",
    ),
):
    RULES.register(_rule)


class Neighbours:
    """Helion's rules around the pass, Helion 1.5.1's unless some of :data:`RULES` are
    ``absent`` (a ValueError names an unknown one). ``taken`` collects ``rule:branch`` as they
    decide."""

    def __init__(self, absent: Iterable[str] = ()) -> None:
        self.absent: frozenset[str] = RULES.only_known(absent)
        """The rules of :data:`RULES` this Helion lacks."""
        self.taken: set[str] = set()
        self.relayouts: frozenset[object] = relayouts.relayout_targets(relayouts.RELAYOUT_OPS)
        """What :meth:`source` walks back through: the pass's relayouts (``compile_variant``
        sets the pass's own, as Helion's rules and pass share ``_RELAYOUT_TARGETS``)."""

    def has(self, rule: str) -> bool:
        assert rule in RULES, f"unknown rule {rule!r}"
        return rule not in self.absent

    def note(self, rule: str, branch: str) -> None:
        assert branch in BRANCHES[rule], f"{rule}: unknown branch {branch!r}"
        self.taken.add(f"{rule}:{branch}")

    # -- the graph builder -----------------------------------------------------------------

    def masks_operand(self, op: Op, index: int, values: list[Value]) -> bool:
        """Whether consumer ``op`` masks its operand ``index`` (``values``: every operand's)
        with its fill: each operand holding a tile, but ``hl.dot`` only along K, where K is a
        tile (``op.masks_operand``; Helion: ``mask_along_k``). Without ``mask_along_k``,
        ``hl.dot`` masks no operand."""
        if op.target is hl_dot and not self.has("mask_along_k"):
            return False
        if op.masks_operand is not None:
            return op.masks_operand(index, values)
        return bool(values[index].tile_names)

    # -- remove_unnecessary_masking --------------------------------------------------------

    def source(self, mask: torch.fx.Node) -> torch.fx.Node:
        """What ``mask`` masks, walked back through relayouts."""
        node = mask.args[0]
        assert isinstance(node, torch.fx.Node)
        while node.target in self.relayouts:
            node = node.args[0]  # type: ignore[assignment]
        return node

    def is_deferred_source(self, source: torch.fx.Node) -> bool:
        """A load whose mask the pass deferred: its padded lanes are stale."""
        return bool(source.meta.get("deferred_tiles"))

    def dots_zeroed_by_partner(
        self, mask: torch.fx.Node, masked_value: float | None, masked_value_of: object
    ) -> list[torch.fx.Node]:
        """The ``hl.dot`` users taking ``mask`` as an operand whose partner is already 0 past
        K (``masked_value_of(partner) == 0``, the partner's own zero-fill mask looked through).
        ``masked_value`` is what ``mask``'s input holds on its padded lanes. A mask no dot
        takes is not this rule's (no branch noted)."""
        if not self.has("dots_zeroed_by_partner"):
            return []
        if not any(user.target is hl_dot for user in mask.users):
            return []
        if mask.args[1] != 0:
            self.note("dots_zeroed_by_partner", "fill-not-zero")
            return []
        if masked_value is not None and not math.isfinite(masked_value):
            self.note("dots_zeroed_by_partner", "known-non-finite")
            return []
        if self.is_deferred_source(self.source(mask)):
            self.note("dots_zeroed_by_partner", "deferred-source")
            return []
        dots = []
        for user in mask.users:
            if user.target is not hl_dot:
                continue
            lhs, rhs = user.args
            partner = rhs if mask is lhs else lhs
            if isinstance(partner, torch.fx.Node) and partner.target is mask.target:
                partner = partner.args[0]
            if isinstance(partner, torch.fx.Node) and masked_value_of(partner) == 0:  # type: ignore[operator]
                self.note("dots_zeroed_by_partner", "partner-zero")
                dots.append(user)
            else:
                self.note("dots_zeroed_by_partner", "partner-not-zero")
        return dots

    # -- masked values of elementwise ops and expand ------------------------------------------

    def strict_float(self, factors: list[float | None]) -> bool:
        """Whether a product's masked value must be left unknown: a factor is unknown or not
        finite (a float 0 times inf or NaN is NaN; only fast math assumes those away). Without
        the rule, never: Inductor's product, 0 times anything is 0."""
        if not self.has("strict_float"):
            return False
        if all(f is not None and math.isfinite(f) for f in factors):
            self.note("strict_float", "finite")
            return False
        self.note("strict_float", "may-not-be-finite")
        return True

    def broadcasts_onto_masked_lanes(self, x: Value, out: Value) -> bool:
        """Whether ``out`` broadcasts ``x`` along a dim that is not 1 (and so may be masked):
        the lanes past that dim's extent then hold ``x``'s real values, not its masked value.
        (Helion exempts a constant fill, ``hl.full``; a case has none.)"""
        if not self.has("broadcasts_onto_masked_lanes"):
            return False
        pad = out.rank - x.rank
        hit = any(size != 1 and (d < pad or x.shape[d - pad] == 1) for d, size in enumerate(out.shape))
        self.note("broadcasts_onto_masked_lanes", "broadcast" if hit else "no-broadcast")
        return hit

    def expand_masked_value(self, x: Value, out: Value, masked_value: MaskedValue) -> MaskedValue:
        """The masked value of ``out``, an expand of ``x`` (which holds ``masked_value`` on its
        padded lanes): unknown where it :meth:`broadcasts_onto_masked_lanes`, else ``x``'s.
        Without the rule, ``x``'s (a pass-through)."""
        if not self.has("expand_masked_value"):
            return masked_value
        return None if self.broadcasts_onto_masked_lanes(x, out) else masked_value

    # -- the pass's record -----------------------------------------------------------------

    def deferred_mask_consumers(self, consumers: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """What the pass records on a deferred load under
        :data:`PALLAS_DEFERRED_MASK_CONSUMERS_META`: per tile, the discharging masks."""
        for names in consumers.values():
            self.note("deferred_mask_consumers", "one" if len(names) == 1 else "several")
        return dict(consumers)


class UnknownMayNotBeFinite(Neighbours):
    """Helion's rules with ``dots_zeroed_by_partner`` keeping the mask of an operand whose
    masked value is unknown. Helion 1.5.1 takes unknown as finite (its docstring says so), and
    an operand scaled by ``inf`` then holds NaN on its padded lanes, which the partner's zeros
    do not clear: a known Helion bug (``docs/helion.md``). The check compiles the eager kernel
    with these rules to tell that bug's wrong numbers from the baseline's own."""

    def dots_zeroed_by_partner(
        self, mask: torch.fx.Node, masked_value: float | None, masked_value_of: object
    ) -> list[torch.fx.Node]:
        if masked_value is None:
            return []
        return super().dots_zeroed_by_partner(mask, masked_value, masked_value_of)


def for_helion(present: Iterable[str]) -> Neighbours:
    """The rules of a Helion that has the rules ``present`` of :data:`RULES` and lacks the
    others (a ValueError names an unknown one)."""
    return Neighbours(absent=RULES.keys() - RULES.only_known(present))


_CURRENT: ContextVar[Neighbours | None] = ContextVar("neighbours", default=None)


def current() -> Neighbours:
    """The rules of the variant being compiled (Helion 1.5.1's outside :func:`using`)."""
    rules = _CURRENT.get()
    return rules if rules is not None else Neighbours()


@contextmanager
def using(rules: Neighbours) -> Iterator[Neighbours]:
    """Compile with ``rules`` (a mutant's, or a fresh set whose ``taken`` the caller reads)."""
    token = _CURRENT.set(rules)
    try:
        yield rules
    finally:
        _CURRENT.reset(token)
