"""Deliberately broken versions of the pass: the harness is only as good as the bugs it kills.

Each mutant breaks one rule of the pass's argument (``reference/defer.py``). Five override one
predicate or step of :class:`~reference.defer.MaskDeferral`; two (``wrong-axis`` and
``off-by-one``) edit the deferred kernel's discharging mask lines, as a bug in the code that
applies the deferred mask would. ``inverted-gate`` and ``nonzero-fill`` compute right answers
(a max's ``-inf`` fill still clears the padding, a slow-direction deferral is still correct):
only the decision oracle sees them, as it should, since one is a performance bug and the other
a rule the numerics of this model cannot tell from a correct one. ``bool-remask`` computes
right answers too and decides right: only the TPU compiler kills it (its oracle is
``tpu-aot``), which proves that a ``compile`` verdict fires when the pass breaks compilation.

``forced-drops-remask`` breaks only the forced variant, the slow-direction kernel the gate
audit compiles to time the choice the pass did not make: the audit runs it on the case's data
like the other two (``judge/check.py``'s ``check_audited``), so a wrong kernel is never timed.

Four more break one of Helion's rules beside the pass (``reference/neighbours.py``), one rule
each: ``partner-without-exception`` and ``consumers-missing-one`` leave a deferred tile without
the mask the pass recorded for it (the ``undischarged`` check sees it: under NaN poison the
eager kernel leaks the same lanes, so numerics alone cannot), ``mul-without-strict-float``
turns ``0 * inf`` into 0 (an infinite truth sees the NaN), ``no-broadcast-rule`` lets a
broadcast input's real values into a sum (numerics see them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.fx

from reference.compile import Variant, compile_variant
from reference.defer import MaskDeferral
from reference.masking import cached_masked_value
from reference.neighbours import Neighbours
from reference.ops.base import expand_at
from reference.ops.mask import _mask_to
from reference.ops.memory import load
from reference.spec import KernelSpec
from reference.values import Value


class ThroughReshape(MaskDeferral):
    """Treats ``reshape``/``view`` as a relayout: the regrouping hazard Helion documents."""

    def is_relayout(self, node: torch.fx.Node) -> bool:
        return super().is_relayout(node) or node.target in (torch.ops.aten.reshape.default, torch.ops.aten.view.default)


class IgnoreSecondUse(MaskDeferral):
    """Defers when *some* use reaches a remask, ignoring the others."""

    def all_uses_remask(self, node: torch.fx.Node, tile: str, memo: dict[torch.fx.Node, bool]) -> bool:
        return any(self.use_remasks(user, node, tile, memo) for user in node.users)


class DropRemask(MaskDeferral):
    """Defers, but leaves the load's masked value at 0, so ``remove_unnecessary_masking``
    drops the downstream mask that should have discharged it."""

    def after_deferral(self, graph: torch.fx.Graph) -> None:
        for node in graph.nodes:
            node.meta.pop("masked_value", None)
        for node in graph.find_nodes(op="call_function", target=load):
            node.meta["masked_value"] = 0.0
        for node in graph.nodes:
            cached_masked_value(node)


class NonzeroFill(MaskDeferral):
    """Accepts any ``_mask_to`` as a remask, a max's ``-inf`` fill included."""

    def is_remask(self, node: torch.fx.Node, src: torch.fx.Node, tile: str) -> bool:
        return bool(node.target is _mask_to and node.args[0] is src and self.dim_index(node, tile) is not None)


class InvertedGate(MaskDeferral):
    """Swaps the profitability gate's two positions: defers last-two -> major, the direction
    the pass's authors measured about 1.5x slower, and refuses the profitable one."""

    def is_major_dim(self, node: torch.fx.Node, tile: str) -> bool:
        return super().is_last_two_dim(node, tile)

    def is_last_two_dim(self, node: torch.fx.Node, tile: str) -> bool:
        return super().is_major_dim(node, tile)


class ForcedDropsRemask(DropRemask):
    """:class:`DropRemask` in the forced variant alone (the slow-direction kernel the gate
    audit times for the choice the pass did not make): its deferred loads keep no discharging
    mask. The pass as it decides is untouched, so only a check of that kernel can see it."""

    def after_deferral(self, graph: torch.fx.Graph) -> None:
        if self.mode == "force":
            super().after_deferral(graph)
        else:
            MaskDeferral.after_deferral(self, graph)


class PartnerWithoutException(Neighbours):
    """``dots_zeroed_by_partner`` without its deferred-source exception: a dot's partner zeros
    are taken to clear a deferred load's stale lanes, so the mask that discharges it goes."""

    def is_deferred_source(self, source: torch.fx.Node) -> bool:
        return False


class MulWithoutStrictFloat(Neighbours):
    """Fast math's product: 0 times anything is 0, an infinite factor too."""

    def strict_float(self, factors: list[float | None]) -> bool:
        return False


class NoBroadcastRule(Neighbours):
    """An input broadcast onto masked lanes keeps its masked value there."""

    def broadcasts_onto_masked_lanes(self, x: Value, out: Value) -> bool:
        return False


class ConsumersMissingOne(Neighbours):
    """The pass's record of the masks discharging a deferred tile leaves the last one out
    (when there are two or more), as emit-pipeline lowering would then not extend it."""

    def deferred_mask_consumers(self, consumers: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        recorded = super().deferred_mask_consumers(consumers)
        return {tile: names[:-1] if len(names) > 1 else names for tile, names in recorded.items()}


def _discharging_lines(variant: Variant) -> list[tuple[str, str, int]]:
    """(consumer mask var, tile, the tile's dim at the load) for every deferred tile."""
    found = []
    for node in variant.graph.find_nodes(op="call_function", target=load):
        decision = variant.decisions[node.meta["var"]]
        for tile, consumers in decision.consumers.items():
            at_load = node.meta["value"].dim_index(tile)
            found += [(c, tile, at_load) for c in consumers]
    return found


def _edit_lines(variant: Variant, edit: Callable[[str, str, int], str]) -> Variant:
    lines = variant.source.text.split("\n")
    for var, tile, at_load in _discharging_lines(variant):
        for i, line in enumerate(lines):
            if line.lstrip().startswith(f"{var} = jnp.where("):
                lines[i] = edit(line, tile, at_load)
    return replace(variant, source=replace(variant.source, text="\n".join(lines)))


def wrong_axis(variant: Variant) -> Variant:
    """The discharging mask indexes the tile's dim where it sat at the load, not where it
    sits at the consumer (``mask[:, None, None]`` for ``mask[None, :, None]``)."""

    def edit(line: str, tile: str, at_load: int) -> str:
        pattern = rf"mask_{tile}\[([^\]]*)\]"
        rank = len(re.search(pattern, line).group(1).split(","))  # type: ignore[union-attr]
        return re.sub(pattern, expand_at(f"mask_{tile}", rank, at_load), line)

    return _edit_lines(variant, edit)


def off_by_one(variant: Variant) -> Variant:
    """The discharging mask keeps row ``extent`` too: ``iota <= extent``."""

    def edit(line: str, tile: str, at_load: int) -> str:
        return re.sub(rf"\bmask_{tile}\[", f"mask_{tile}_le[", line)

    edited = _edit_lines(variant, edit)
    text = edited.source.text
    for tile in {t for _, t, _ in _discharging_lines(variant)}:
        text = re.sub(
            rf"( *)mask_{tile} = \(lax\.broadcasted_iota\((.*)\) < {tile}_extent\)(.*)\n",
            rf"\g<0>\1mask_{tile}_le = (lax.broadcasted_iota(\2) <= {tile}_extent)\3\n",
            text,
        )
    return replace(edited, source=replace(edited.source, text=text))


def bool_remask(variant: Variant) -> Variant:
    """The discharging mask is broadcast as a boolean (``(mask != 0)[None, :, None]``), not as
    float32 first. Interpret mode computes the same select; Mosaic cannot reshape a vector of
    booleans (``TPU-AOT.md``), so the deferred kernel no longer compiles while the eager one
    does."""

    def edit(line: str, tile: str, at_load: int) -> str:
        return re.sub(rf"\bmask_{tile}\[", f"(mask_{tile} != 0)[", line)

    return _edit_lines(variant, edit)


@dataclass(frozen=True)
class Mutant:
    """A broken pass: the deferral it runs, for kernel-level bugs the edit it makes, and the
    backend whose verdicts can kill it (``interpret`` numerics, unless only a compiler can)."""

    name: str
    breaks: str
    deferral: Callable[[], MaskDeferral]
    edit: Callable[[Variant], Variant] | None = None
    oracle: str = "interpret"
    rules: Callable[[], Neighbours] = Neighbours
    """Helion's rules beside the pass as this mutant has them (``reference/neighbours.py``)."""
    policy: str = "mixed"
    """What ``fuzzpass mutants`` draws for it unless told (``--policy``): the structures that
    reach what it breaks."""
    audited: bool = False
    """Whether only a kernel of the gate audit shows its bug (the forced variant): ``fuzzpass
    mutants`` then runs the audit for it."""

    def compile(self, spec: KernelSpec, title: str) -> Variant:
        """The deferred variant as this mutant builds it."""
        variant = compile_variant(spec, "on", self.deferral(), title=title, rules=self.rules())
        return self.edit(variant) if self.edit else variant

    def compile_forced(self, spec: KernelSpec, title: str) -> Variant:
        """The forced variant (every safe path that moves the axis deferred, the gate
        bypassed) as this mutant builds it: the gate audit compiles and checks it."""
        deferral = self.deferral()
        deferral.mode = "force"
        variant = compile_variant(spec, deferral=deferral, title=title, rules=self.rules())
        return self.edit(variant) if self.edit else variant


MUTANTS: dict[str, Mutant] = {
    m.name: m
    for m in (
        Mutant("through-reshape", "only permutes are relayouts", ThroughReshape),
        Mutant("ignore-second-use", "every use must reach a remask", IgnoreSecondUse),
        Mutant("drop-remask", "a deferred load's masked value is unknown", DropRemask),
        Mutant("nonzero-fill", "only a zero fill re-masks", NonzeroFill),
        Mutant("wrong-axis", "the deferred mask applies at the consumer's dim", MaskDeferral, wrong_axis),
        Mutant("off-by-one", "the deferred mask is iota < extent", MaskDeferral, off_by_one),
        Mutant("inverted-gate", "defer only major -> last-two", InvertedGate),
        Mutant("bool-remask", "the deferred mask is broadcast as float32", MaskDeferral, bool_remask, "tpu-aot"),
        Mutant(
            "forced-drops-remask",
            "a forced deferral keeps the mask that discharges it",
            ForcedDropsRemask,
            policy="deferrable",
            audited=True,
        ),
        Mutant(
            "partner-without-exception",
            "a dot's partner zeros do not discharge a deferred load",
            MaskDeferral,
            rules=PartnerWithoutException,
            policy="neighbours",
        ),
        Mutant(
            "mul-without-strict-float",
            "0 times a non-finite factor is unknown",
            MaskDeferral,
            rules=MulWithoutStrictFloat,
            policy="neighbours",
        ),
        Mutant(
            "no-broadcast-rule",
            "a broadcast input's real values reach masked lanes",
            MaskDeferral,
            rules=NoBroadcastRule,
            policy="neighbours",
        ),
        Mutant(
            "consumers-missing-one",
            "the pass records every mask that discharges a deferred tile",
            MaskDeferral,
            rules=ConsumersMissingOne,
            policy="neighbours",
        ),
    )
}
"""Mutant name -> the broken pass. Every one must be killed by ``fuzzpass mutants``."""
