"""``defer_pallas_load_masks``: move a load's eager mask past the transpose that follows it.

What. Helion's Pallas backend masks a tiled load multiplicatively in the load's own layout
(``ref[idx] * mask``). For a tile dim of a load, when the pass proves the mask redundant
there, it drops it; the downstream zero-fill ``_mask_to`` applies it instead, after the
transpose, in the consumer's layout (``jnp.where(mask[None, :, None], x, 0)``).

Why it is safe (:meth:`MaskDeferral.all_uses_remask`). Every use of the load reaches a
``_mask_to(_, 0)`` crossing only relayouts, and at every step the masked tile dim is present
exactly once. A relayout here is ``aten.permute.default`` alone: it moves whole axes, so the
lanes the later per-axis mask clears are exactly the lanes the eager mask cleared, and the
zero fill gives them the value the eager mask gave them. Any other use (a store, an
elementwise op, a dot without its mask, a max's ``-inf`` fill) would see the unmasked padding,
so it keeps the eager mask. ``reshape`` is excluded although it also passes the masked value
through: it can regroup elements, so "the tile dim survives once" does not imply "the same
lanes are padding" (a ``[B, 2]`` tile with 3 valid rows reshaped to ``[2, B]``).

When it pays (:meth:`MaskDeferral.passes_gate`, ``reference/gates.py``). A mask on a major
(outer) dim is applied per outer row; one in the last two (sublane, lane) dims is a
per-register select. So Helion's gate, ``positional``, defers only when the tile dim is major
at the load and in the last two dims at every consumer mask. The reverse move puts the mask on
the costlier axis: the pass's authors measured it about 1.5x slower on TPU. ``layout`` also
weighs how the masked dim lies in the vector layout. Only profitability differs between them.

After deferring, the load's masked value becomes unknown, so ``remove_unnecessary_masking``
keeps the downstream ``_mask_to`` that now discharges the mask, and the load records those
masks by name (``PALLAS_DEFERRED_MASK_CONSUMERS_META``), which Helion's emit-pipeline lowering
reads; that and the other rules of Helion that read the pass's decisions live beside it, in
``reference/neighbours.py``.

The predicates carry Helion's names (``dim_index``, ``is_major_dim``, ``is_last_two_dim``,
``is_relayout``, ``is_remask``, ``all_uses_remask``) so that a disagreement with Helion can
say which one differed. They are methods so that a mutant overrides exactly one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.fx

from reference import gates, neighbours
from reference.masking import recompute_masked_values
from reference.neighbours import PALLAS_DEFERRED_MASK_CONSUMERS_META
from reference.ops.layout import keeps_vreg_tiles
from reference.ops.mask import _mask_to
from reference.ops.memory import load as load_target
from reference.reasons import Reason
from reference.relayouts import RELAYOUT_OPS, relayout_targets
from reference.values import Value

Mode = Literal["off", "on", "force"]
"""``off``: the eager "Before" kernel. ``on``: the pass as specified ("After"). ``force``:
defer every safe permute-only path that moves the axis, also against the gate (the slow
direction, for benchmarks)."""

MODES: tuple[Mode, ...] = ("off", "on", "force")


def admits(ops: frozenset[str], op: str, dim: int | None, rank: int) -> bool:
    """Whether ``ops`` lets a mask be deferred through case op ``op`` (at ``dim`` of a
    rank-``rank`` input): listed as it is, or as ``op:major`` where it keeps the vreg tiles.
    The reference pass and the decision oracle (``fuzzpass/core/expect.py``) both ask this."""
    if op in ops:
        return True
    return f"{op}:major" in ops and dim is not None and keeps_vreg_tiles(op, dim, rank)


@dataclass
class LoadDecision:
    """What the pass decided for one load: per tile, why; for deferred tiles, the names of
    the ``_mask_to`` nodes that discharge the mask."""

    reasons: dict[str, Reason] = field(default_factory=dict)
    consumers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def deferred(self) -> tuple[str, ...]:
        return tuple(sorted(t for t, r in self.reasons.items() if r == "deferred"))


def value(node: torch.fx.Node) -> Value | None:
    return node.meta.get("value")


class MaskDeferral:
    """The pass, as named predicates. ``run`` applies it to a graph in the given mode."""

    relayout_ops: frozenset[str] = RELAYOUT_OPS
    """The case ops this pass defers through; Helion's rules beside it walk the same ones."""

    def __init__(self, mode: Mode = "on", gate: str = gates.DEFAULT, generation: str | None = None) -> None:
        self.mode = mode
        self.gate = gate  # a name of ``reference.gates.GATES``
        self.generation = generation
        """The TPU generation the kernel is compiled for, as Helion's Pallas backend knows it
        when it compiles (None: not known); only a ``targeted`` gate (``reference.gates``) reads it."""
        self.relayout_targets = relayout_targets(self.relayout_ops)

    # -- where a tile dim sits -----------------------------------------------------------

    def dim_index(self, node: torch.fx.Node, tile: str) -> int | None:
        """Index of ``tile`` in ``node``'s value, or None unless it is exactly one dim."""
        v = value(node)
        return None if v is None else v.dim_index(tile)

    def is_major_dim(self, node: torch.fx.Node, tile: str) -> bool:
        """Outside the last two dims: a mask there is applied per outer row."""
        idx = self.dim_index(node, tile)
        return idx is not None and idx < value(node).rank - 2  # type: ignore[union-attr]

    def is_last_two_dim(self, node: torch.fx.Node, tile: str) -> bool:
        """Inside the (sublane, lane) vreg tile: a mask there is a per-register select."""
        idx = self.dim_index(node, tile)
        return idx is not None and idx >= value(node).rank - 2  # type: ignore[union-attr]

    # -- safety --------------------------------------------------------------------------

    def is_relayout(self, node: torch.fx.Node) -> bool:
        """An op the mask may be deferred through: a permute (which passes masked values), or
        another of the pass's ``relayout_ops``."""
        if node.op != "call_function" or node.target not in self.relayout_targets:
            return False
        src = node.args[0].meta["value"]  # type: ignore[union-attr]
        return admits(self.relayout_ops, node.meta["op"].name, node.kwargs.get("dim"), src.rank)

    def is_remask(self, node: torch.fx.Node, src: torch.fx.Node, tile: str) -> bool:
        """A zero-fill ``_mask_to`` of ``src`` in which ``tile`` is one dim."""
        return (
            node.op == "call_function"
            and node.target is _mask_to
            and node.args[0] is src
            and node.args[1] == 0
            and self.dim_index(node, tile) is not None
        )

    def all_uses_remask(self, node: torch.fx.Node, tile: str, memo: dict[torch.fx.Node, bool]) -> bool:
        """Safety: every use of ``node`` reaches a zero-fill remask of ``tile`` through
        relayouts only, ``tile`` one dim at each step."""
        if node in memo:
            return memo[node]
        memo[node] = False  # a revisit mid-walk is refused, not assumed
        users = list(node.users)
        result = bool(users) and all(self.use_remasks(user, node, tile, memo) for user in users)
        memo[node] = result
        return result

    def use_remasks(self, user: torch.fx.Node, node: torch.fx.Node, tile: str, memo: dict[torch.fx.Node, bool]) -> bool:
        """One use of ``node`` re-masks ``tile``: directly, or through a relayout whose own
        uses all do."""
        return self.is_remask(user, node, tile) or (
            self.is_relayout(user) and self.dim_index(user, tile) is not None and self.all_uses_remask(user, tile, memo)
        )

    def remask_consumers(self, node: torch.fx.Node, tile: str) -> list[torch.fx.Node]:
        """The zero-fill masks that discharge ``tile`` once ``all_uses_remask`` holds."""
        found: list[torch.fx.Node] = []
        for user in node.users:
            if self.is_remask(user, node, tile):
                found.append(user)
            elif self.is_relayout(user):
                found += self.remask_consumers(user, tile)
        return found

    def why_unsafe(self, node: torch.fx.Node, tile: str) -> Reason:
        """The first use that breaks ``all_uses_remask``, as a coverage reason."""
        for user in node.users:
            if self.is_remask(user, node, tile):
                continue
            if self.is_relayout(user) and self.dim_index(user, tile) is not None:
                if not self.all_uses_remask(user, tile, {}):
                    return self.why_unsafe(user, tile)
                continue
            if user.target in (torch.ops.aten.reshape.default, torch.ops.aten.view.default):
                return "reshape"
            if user.target is _mask_to and user.args[1] != 0:
                return "nonzero-fill"
            if self.is_relayout(user) or user.target is _mask_to:
                return "tile-not-unique"
            return "second-use"
        return "no-uses"

    # -- profitability -------------------------------------------------------------------

    def rank(self, node: torch.fx.Node) -> int:
        return value(node).rank  # type: ignore[union-attr]

    def value(self, node: torch.fx.Node) -> Value:
        return value(node)  # type: ignore[return-value]

    def from_end(self, node: torch.fx.Node, tile: str) -> int | None:
        """How many dims lie after ``tile``'s in ``node``'s value (0: the lane dim, 1: the
        sublane dim): where the tile sits in the TPU's layout, whatever the rank."""
        idx = self.dim_index(node, tile)
        return None if idx is None else self.rank(node) - 1 - idx

    def moved(self, load: torch.fx.Node, tile: str, consumers: list[torch.fx.Node]) -> bool:
        """The explicit "a relayout moved the axis" check: every consumer mask sees the tile
        at another place in the layout (counted from the lane dim) than the load had it.
        Through permutes alone, which keep rank, that is another dim index; once a relayout may
        drop or add a dim of size 1 (``squeeze``, ``unsqueeze``), an index can change while
        the tile stays put (a dim added in front) or stay while the tile moves (a dim after
        it dropped), so the gate counts from the end."""
        at_load = self.from_end(load, tile)
        return all(self.from_end(c, tile) != at_load for c in consumers)

    def passes_gate(self, load: torch.fx.Node, tile: str, consumers: list[torch.fx.Node]) -> Reason:
        """Profitability: the gate this pass was made with (``reference/gates.py``). In
        ``force`` mode only that a permute moved the axis (the slow direction passes too)."""
        if self.mode == "force":
            return "deferred" if self.moved(load, tile, consumers) else "axis-not-moved"
        return gates.gate(self.gate).decide(self, load, tile, consumers)

    # -- the pass ------------------------------------------------------------------------

    def decide(self, load: torch.fx.Node, tile: str) -> tuple[Reason, list[torch.fx.Node]]:
        """The decision for one (load, tile) and, when deferred, its consumer masks."""
        if self.mode == "off":
            return "mode-off", []
        if self.dim_index(load, tile) is None:  # the tile fills two dims: which one is masked where?
            return "tile-not-unique", []
        if self.mode == "on" and not self.is_major_dim(load, tile) and not gates.gate(self.gate).minor_moves:
            return self.passes_gate(load, tile, []), []
        if not self.all_uses_remask(load, tile, {}):
            return self.why_unsafe(load, tile), []
        consumers = self.remask_consumers(load, tile)
        return self.passes_gate(load, tile, consumers), consumers

    def after_deferral(self, graph: torch.fx.Graph) -> None:
        """Deferred loads are no longer pre-masked: recompute every masked value so that
        ``remove_unnecessary_masking`` keeps the masks that now discharge them."""
        recompute_masked_values(graph)

    def run(self, graph: torch.fx.Graph) -> dict[str, LoadDecision]:
        """Apply the pass; return the decision per load (by its variable name)."""
        decisions: dict[str, LoadDecision] = {}
        changed = False
        for load in graph.find_nodes(op="call_function", target=load_target):
            decision = LoadDecision()
            for tile in value(load).tile_names:  # type: ignore[union-attr]
                reason, consumers = self.decide(load, tile)
                decision.reasons[tile] = reason
                if reason == "deferred":
                    decision.consumers[tile] = tuple(sorted(c.meta["var"] for c in consumers))
            if decision.deferred:
                load.meta["deferred_tiles"] = frozenset(decision.deferred)
                load.meta[PALLAS_DEFERRED_MASK_CONSUMERS_META] = neighbours.current().deferred_mask_consumers(
                    decision.consumers
                )
                changed = True
            decisions[load.meta["var"]] = decision
        if changed:
            self.after_deferral(graph)
        return decisions
